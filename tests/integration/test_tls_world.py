# SPDX-License-Identifier: MIT
"""The DNS-over-TLS test world of zones/start-named --tls, proven with
BIND's own DoT client (dig +tls, 9.18) and Python's ssl module:

- named answers over DoT (RFC 7858) on TLS_PORT with a certificate that
  chains to the CA made for the run and names ns1.kms.test (the zone's SOA
  MNAME) and IP 127.0.0.1; a client checking another name, or trusting
  another CA, refuses it;
- on TLS_EXPIRED_PORT the same named serves a certificate of that CA that
  expired yesterday: named 9.18 serves it, a checking client refuses it
  as expired, a client that checks nothing gets the answer;
- named takes a TSIG-signed UPDATE over DoT (the record is then served
  over plain DNS) and refuses an unsigned one;
- on TLS_MUTUAL_PORT only a client with a certificate of the CA gets an
  answer (named 9.18.49: ca-file in a listener's tls block); the client
  certificate made for the run is such a one;
- harness.TcpRelay in front of the DoT port counts the connections and
  cuts them (a connection cut is an end of the TLS session for the client);
- named restarted (restart_kept) serves DoT again on the same port, and
  stop-named stops it; without --tls there is no TLS in named.conf.

Each test has its own world (ports chosen free: ctest runs in parallel).
"""
import os
import socket
import ssl
import struct
import unittest

import harness
import servers
from harness import Named, check, run

OWNER = "_vlmcs._tcp.kms.test"


def dig_tls(port, *opts, name="kms.test", rtype="SOA"):
    """dig over DoT at 127.0.0.1#port with opts (+tls-ca=..., ...)."""
    return run(["dig", "+tls", "+time=2", "+tries=1", "+noall", "+answer", "-p", str(port),
                "@127.0.0.1"] + list(opts) + [name, rtype], timeout=15)


def soa_serial(out):
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[3] == "SOA":
            return int(f[6])
    return None


def zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] == "Z"
    except OSError:
        return True


def verify_error(port, ca_file, name):
    """The verification error of a TLS handshake with 127.0.0.1#port that
    trusts ca_file and checks name; None when the certificate passes."""
    ctx = ssl.create_default_context(cafile=ca_file)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=name):
                return None
    except ssl.SSLCertVerificationError as e:
        return e.verify_message


class TlsWorld(unittest.TestCase):

    def world(self, **kw):
        ns = Named(tls=True, **kw)
        self.addCleanup(ns.__exit__, None, None, None)
        return ns.start()

    def test_dot_answers_with_a_certificate_for_the_primarys_name_and_address(self):
        ns = self.world()
        plain = ns.serial()
        check(plain is not None, "named answers over plain DNS")
        check(ns.tls_name == "ns1.kms.test", "the name is the zone's SOA MNAME", ns.tls_name)
        out = dig_tls(ns.tls_port, "+tls-ca=" + ns.tls_ca_file, "+tls-hostname=" + ns.tls_name)
        check(soa_serial(out) == plain, "dig +tls (CA and name checked) gets the SOA", out)
        # without +tls-hostname dig checks the address it asked: the IP SAN
        out = dig_tls(ns.tls_port, "+tls-ca=" + ns.tls_ca_file)
        check(soa_serial(out) == plain, "the certificate matches IP 127.0.0.1", out)
        check(ns.dig("kms.test", "SOA", tls=True) != [], "Named.dig(tls=True)")

        # what the certificate holds, as a checking client sees it
        ctx = ssl.create_default_context(cafile=ns.tls_ca_file)
        with socket.create_connection(("127.0.0.1", ns.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=ns.tls_name) as s:
                cert = s.getpeercert()
                version = s.version()
        sans = cert.get("subjectAltName", ())
        check(("DNS", "ns1.kms.test") in sans and ("IP Address", "127.0.0.1") in sans,
              "SAN: DNS:ns1.kms.test and IP:127.0.0.1", sans)
        check(version in ("TLSv1.2", "TLSv1.3"), "TLS 1.2 or later", version)
        for path in (ns.tls_ca_file, ns.tls_cert_file, ns.tls_key_file, ns.tls_other_ca_file,
                     ns.tls_expired_cert_file, ns.tls_client_cert_file, ns.tls_client_key_file):
            check(os.path.isfile(path) and os.path.dirname(path) == os.path.join(ns.dir, "tls"),
                  "%s is in DIR/tls" % path)
        for key in (ns.tls_key_file, ns.tls_client_key_file):
            check(os.stat(key).st_mode & 0o077 == 0, "private key %s is private" % key)

    def test_a_wrong_name_another_ca_and_an_expired_certificate_are_refused(self):
        ns = self.world()
        ca, name = ns.tls_ca_file, ns.tls_name
        check(verify_error(ns.tls_port, ca, name) is None, "the right name and CA pass")
        check(verify_error(ns.tls_port, ca, "127.0.0.1") is None, "the IP address passes")

        why = verify_error(ns.tls_port, ca, "ns2.kms.test")
        check(why is not None and "hostname mismatch" in why.lower(), "wrong name refused", why)
        out = dig_tls(ns.tls_port, "+tls-ca=" + ca, "+tls-hostname=ns2.kms.test")
        check("hostname mismatch" in out.stdout + out.stderr and soa_serial(out) is None,
              "dig: hostname mismatch", out)

        why = verify_error(ns.tls_port, ns.tls_other_ca_file, name)
        check(why == "unable to get local issuer certificate", "another CA refused", why)
        out = dig_tls(ns.tls_port, "+tls-ca=" + ns.tls_other_ca_file, "+tls-hostname=" + name)
        check("unable to get local issuer certificate" in out.stdout + out.stderr,
              "dig: unknown issuer", out)

        why = verify_error(ns.tls_expired_port, ca, name)
        check(why == "certificate has expired", "the expired certificate refused", why)
        out = dig_tls(ns.tls_expired_port, "+tls-ca=" + ca, "+tls-hostname=" + name)
        check("certificate has expired" in out.stdout + out.stderr, "dig: expired", out)
        # named 9.18 serves it all the same: only a checking client refuses
        out = dig_tls(ns.tls_expired_port)
        check(soa_serial(out) == ns.serial(), "unchecked, the expired port answers", out)
        dates = run(["openssl", "x509", "-noout", "-checkend", "0", "-in",
                     ns.tls_expired_cert_file], timeout=10)
        check(dates.returncode != 0, "the expired certificate has expired", dates)
        out = run(["openssl", "verify", "-CAfile", ca, "-no_check_time", ns.tls_expired_cert_file],
                  timeout=10)
        check(out.returncode == 0, "... and is the CA's (valid but for its dates)", out)

    def test_a_tsig_signed_update_over_dot_is_taken(self):
        ns = self.world()
        mark = ns.log_mark()
        r = servers.raw_update(ns.tls_port, "kms.test", OWNER, "kms1.kms.test.",
                               key_file=ns.key_file, tls=(ns.tls_ca_file, ns.tls_name))
        check(r["rcode"] == "NOERROR" and r["signed"], "signed UPDATE over DoT: NOERROR", r)
        check(ns.srv(OWNER) == [(0, 0, 1688, "kms1.kms.test.", 60)],
              "the record is served over plain DNS", ns.srv(OWNER))
        check(ns.update_messages(mark) == 1, "named processed one UPDATE", ns.log())
        r = servers.raw_update(ns.tls_port, "kms.test", OWNER, "kms2.kms.test.",
                               tls=(ns.tls_ca_file, ns.tls_name))
        check(r["rcode"] == "REFUSED", "unsigned UPDATE over DoT: REFUSED", r)
        check(ns.srv(OWNER) == [(0, 0, 1688, "kms1.kms.test.", 60)], "nothing else changed")

    def test_the_mutual_port_answers_only_a_client_with_a_certificate_of_the_ca(self):
        ns = self.world()
        out = run(["openssl", "verify", "-CAfile", ns.tls_ca_file, "-purpose", "sslclient",
                   ns.tls_client_cert_file], timeout=10)
        check(out.returncode == 0, "client certificate verifies for TLS clients", out)
        checked = ["+tls-ca=" + ns.tls_ca_file, "+tls-hostname=" + ns.tls_name]
        client = ["+tls-certfile=" + ns.tls_client_cert_file,
                  "+tls-keyfile=" + ns.tls_client_key_file]
        out = dig_tls(ns.tls_mutual_port, *(checked + client))
        check(soa_serial(out) == ns.serial(), "with the client certificate: the SOA", out)
        out = dig_tls(ns.tls_mutual_port, *checked)
        check(soa_serial(out) is None, "without one: no answer", out)
        out = dig_tls(ns.tls_port, *(checked + client))
        check(soa_serial(out) == ns.serial(), "TLS_PORT takes (and ignores) one", out)

    def test_the_relay_counts_connections_and_cuts_them(self):
        ns = self.world()
        with harness.TcpRelay(ns.tls_port) as relay:
            out = dig_tls(relay.port, "+tls-ca=" + ns.tls_ca_file, "+tls-hostname=" + ns.tls_name)
            check(soa_serial(out) == ns.serial(), "dig through the relay", out)
            check(relay.connections == 1, "one connection counted", relay.connections)

            ctx = ssl.create_default_context(cafile=ns.tls_ca_file)
            raw = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
            with ctx.wrap_socket(raw, server_hostname=ns.tls_name) as s:
                check(harness.wait_until(lambda: relay.open_connections() == 1),
                      "the session is open through the relay")
                relay.cut()
                s.settimeout(5)
                try:
                    s.sendall(struct.pack(">H", 12) + b"\0" * 12)
                    data = s.recv(100)
                except (OSError, ssl.SSLError):
                    data = b""
                check(data == b"", "the cut session is closed for the client", data)
            check(relay.connections == 2, "two connections counted", relay.connections)

    def test_named_restarted_serves_dot_again_and_stop_named_stops_it(self):
        ns = self.world()
        port, old = ns.tls_port, ns.pid
        ns.kill9()
        out = dig_tls(port, "+tls-ca=" + ns.tls_ca_file, "+tls-hostname=" + ns.tls_name)
        check(soa_serial(out) is None, "named down: no DoT answer", out)
        ns.restart_kept()
        check(ns.pid != old, "a new named")
        out = dig_tls(port, "+tls-ca=" + ns.tls_ca_file, "+tls-hostname=" + ns.tls_name)
        check(soa_serial(out) == ns.serial(), "DoT again on the same port", out)
        pid = ns.pid
        ns.stop()
        check(not ns.alive() and harness.wait_until(lambda: not os.path.exists("/proc/%d" % pid)
                                                     or zombie(pid)), "stop-named stopped it")

    def test_without_tls_named_has_no_tls(self):
        ns = Named()
        self.addCleanup(ns.__exit__, None, None, None)
        ns.start()
        with open(os.path.join(ns.dir, "named.conf")) as f:
            conf = f.read()
        check(" tls " not in conf and "tls kms-tls" not in conf, "no tls block, no DoT listener",
              conf)
        check(not os.path.exists(os.path.join(ns.dir, "tls")), "no certificates made")


if __name__ == "__main__":
    harness.main()
