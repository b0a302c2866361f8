# SPDX-License-Identifier: MIT
"""Dynamic updates over DNS-over-TLS (RFC 7858) against a real named 9.18
(zones/start-named --tls), the certificate checked.

Covers, with kms-publish --tls: publish/show/unpublish over DoT with a
TSIG key (the records checked over plain DNS; one TLS connection per run,
counted by a relay in front of named's DoT port); --verify over DoT (the
primary over TLS, a secondary over plain DNS, said in the line); the
defaults in a private netns where named listens on 853 and 53 (port 853,
the certificate checked against the primary's name, SOA MNAME; two zones
on one primary under two MNAMEs each checked against its own); a wrong
--tls-name, a CA that did not sign the certificate and an expired
certificate each refused with one line naming server, name and reason,
exit 1, and never retried (one connection, one attempt, no UPDATE at
named); a client certificate for a server that wants one; named closing
the session mid-run (a relay cutting it after some answers) and named
stopped (SIGTERM) and restarted during a 1000-domain run: both recover
like TCP; 1000 domains
over ONE TLS connection (one handshake); kmsd with [dns] tls = yes:
publishing, kmsctl status's dns_transport, a record deleted behind its
back put back over DoT after named was restarted, cdns over DoT, the
configuration errors; GSS-TSIG over DoT; the usage errors of the --tls
options; --tcp (every message over plain TCP), bench/run-dot's baseline.

The whole file runs in a private network namespace (in_netns()): named
listens on 853 and 53 there, and secondaries get 127.0.0.2.
"""
import json
import os
import re
import signal
import subprocess
import time

import harness
from harness import TcpRelay, check, kms_publish

OWNER = "_vlmcs._tcp.kms.test"
TARGET = "kms1.kms.test."


def tls_args(ns, server=None, name=True, ca=None):
    """--tls options for ns: its CA, its certificate's name (name=False:
    none given; a string: that one), the server (default: the DoT port)."""
    args = ["--tls", "--tls-ca", ca or ns.tls_ca_file, "--server", server or ns.tls_server]
    if name is True:
        args += ["--tls-name", ns.tls_name]
    elif name:
        args += ["--tls-name", name]
    return args


def publish(ns, verb, *more, server=None, name=True, ca=None, domain="kms.test",
            target="kms1.kms.test", timeout=60):
    return kms_publish(verb, *tls_args(ns, server, name, ca), "--key", ns.key_file,
                       "--domain", domain, "--target", target, "--ttl", 60, *more,
                       timeout=timeout)


def as_json(out):
    check(out.stdout.strip().startswith("{"), "a JSON document", out)
    return json.loads(out.stdout)


def one_line(out):
    """The stderr of a failed run is one line (warnings of the sanitizer
    build aside); returns it."""
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    check(len(lines) == 1, "one line on stderr", out)
    return lines[0]


class PublishTls(harness.NamedKmsdTestCase):

    def world(self, **kw):
        return self.named(tls=True, **kw)

    # ---- kms-publish over DoT ---------------------------------------------
    def test_publish_show_unpublish_over_dot_with_a_tsig_key_one_connection_each(self):
        ns = self.world()
        with TcpRelay(ns.tls_port) as relay:
            mark = ns.log_mark()
            out = publish(ns, "publish", "--json", server=relay.server)
            check(out.returncode == 0, "publish over DoT", out)
            doc = as_json(out)
            check(doc["ok"] and doc["transport"] == "tls", "ok, transport tls", doc)
            st = doc["stats"]
            check(st["udp"] == 0 and st["tcp"] == 0 and st["tls"] >= 2,
                  "every exchange with the server over TLS (reads and the UPDATE)", st)
            check(st["tls_handshakes"] == 1, "one handshake", st)
            check(relay.connections == 1, "one TCP connection", relay.connections)
            check(ns.srv(OWNER) == [(0, 0, 1688, TARGET, 60)],
                  "the record is served (asked over plain DNS)", ns.srv(OWNER))
            check(ns.update_messages(mark) == 1, "named processed one UPDATE", ns.log())

            out = publish(ns, "show", server=relay.server)
            check(out.returncode == 0, "show over DoT", out)
            check("kms.test: _vlmcs._tcp.kms.test. 60 IN SRV 0 0 1688 kms1.kms.test." in out.stdout,
                  "show lists the record", out)
            check(relay.connections == 2, "show: one more connection", relay.connections)

            # the name defaults to the --server address: the certificate's IP SAN
            out = publish(ns, "unpublish", "--json", server=relay.server, name=False)
            check(out.returncode == 0, "unpublish over DoT, name 127.0.0.1", out)
            check(as_json(out)["results"][0]["removed"] == 1, "our record removed", out)
            check(ns.srv(OWNER) == [], "gone", ns.srv(OWNER))
            check(relay.connections == 3, "one connection per run", relay.connections)

    def test_verify_over_dot_primary_over_tls_secondary_over_plain_dns(self):
        ns = self.world(secondaries=1)
        out = publish(ns, "publish", "--verify", "--verify-timeout", 10,
                      "--resolver", ns.server)
        check(out.returncode == 0, "publish --verify over DoT", out)
        check("verified on 2 name servers" in out.stdout, "both name servers serve it", out)
        check("verified on 2 name servers (ns1.kms.test. over DNS-over-TLS; ns2.kms.test. over "
              "plain DNS)" in out.stdout, "the line says which were asked over plain DNS", out)
        check(ns.srv(OWNER, server="127.0.0.2") == [(0, 0, 1688, TARGET, 60)],
              "the secondary serves it", ns.srv(OWNER, server="127.0.0.2"))
        out = publish(ns, "unpublish", "--verify", "--verify-timeout", 10, "--json",
                      "--resolver", ns.server)
        doc = as_json(out)
        check(out.returncode == 0 and doc["results"][0]["verified"], "unpublish verified", out)

    def test_defaults_port_853_and_the_primarys_name(self):
        # named on 53 and 853 (this netns only): no --server, no --tls-name
        ns = self.named(tls_port=853, port=53)
        base = ["--tls", "--tls-ca", ns.tls_ca_file, "--resolver", "127.0.0.1", "--key",
                ns.key_file, "--domain", "kms.test", "--target", "kms1.kms.test", "--ttl", 60]
        out = kms_publish("publish", "--json", *base)
        check(out.returncode == 0, "the primary ns1.kms.test found and reached at 853", out)
        doc = as_json(out)
        check(doc["results"][0]["server"] == "127.0.0.1#853", "asked at port 853", doc)
        check(doc["stats"]["tls_handshakes"] == 1, "over TLS", doc)
        check(ns.srv(OWNER) == [(0, 0, 1688, TARGET, 60)], "published", ns.srv(OWNER))
        # --server without a port: 853 with --tls; its address is the name
        out = kms_publish("show", "--tls", "--tls-ca", ns.tls_ca_file, "--server", "127.0.0.1",
                          "--domain", "kms.test")
        check(out.returncode == 0 and "1688 kms1.kms.test." in out.stdout, "--server IP: 853", out)
        # the name checked is the primary's: another CA's world would fail on it
        out = kms_publish("show", *base[:3], "--tls-name", "ns2.kms.test", *base[3:])
        check(out.returncode == 1 and "ns2.kms.test" in out.stderr, "--tls-name wins", out)

    def test_two_zones_on_one_primary_each_checks_its_own_mname(self):
        # kms.test (MNAME ns1.kms.test, the certificate's name) and
        # other.test (MNAME ns1.other.test, not in it) on the same named,
        # one run, no --server, no --tls-name: the name is each zone's
        ns = self.named(tls_port=853, port=53, other_mname=True)
        mark = ns.log_mark()
        out = kms_publish("publish", "--json", "--tls", "--tls-ca", ns.tls_ca_file,
                          "--resolver", "127.0.0.1", "--key", ns.key_file,
                          "--domain", "kms.test,other.test", "--target", "kms1.kms.test",
                          "--ttl", 60)
        check(out.returncode == 1, "one zone refused: exit 1", out)
        res = {r["domain"].rstrip("."): r for r in as_json(out)["results"]}
        check(res["kms.test"]["ok"] and res["kms.test"]["server"] == "127.0.0.1#853",
              "kms.test published: ns1.kms.test checked and matched", res)
        other = res["other.test"]
        check(not other["ok"] and other["error"] == "KMS_ETLSVERIFY",
              "other.test refused on the certificate", other)
        check("certificate of 127.0.0.1#853" in other["message"] and
              "ns1.other.test" in other["message"] and
              "hostname mismatch" in other["message"],
              "the line names other.test's own MNAME", other["message"])
        check("ns1.kms.test" not in other["message"], "not the first zone's name",
              other["message"])
        check(as_json(out)["stats"]["tls_handshakes"] == 1,
              "one handshake done (ns1.kms.test's); ns1.other.test's refused", out)
        check(ns.srv(OWNER) == [(0, 0, 1688, TARGET, 60)], "kms.test served", ns.srv(OWNER))
        check(ns.srv("_vlmcs._tcp.other.test") == [], "nothing in other.test")
        check(ns.update_messages(mark) == 1, "one UPDATE at named (kms.test's)", ns.log())

    def refused(self, ns, port, name=True, ca=None, reason=""):
        """A run that must be refused on the certificate: exit 1, one line
        naming server, name and reason; one connection, one attempt, no
        UPDATE reaches named."""
        with TcpRelay(port) as relay:
            mark = ns.log_mark()
            out = publish(ns, "publish", "--json", "--attempts", 4, server=relay.server,
                          name=name, ca=ca)
            check(out.returncode == 1, "refused: exit 1", out)
            line = one_line(out)
            check(line.startswith("kms-publish: TLS: certificate of 127.0.0.1#%d" % relay.port),
                  "the line names the server", line)
            check(reason in line, "the reason: %s" % reason, line)
            doc = as_json(out)
            r = doc["results"][0]
            check(r["error"] == "KMS_ETLSVERIFY", "a certificate failure", r)
            check(doc["stats"]["attempts"] == 1, "one attempt: never retried", doc["stats"])
            time.sleep(0.5)  # a retry, had there been one, would have connected by now
            check(relay.connections == 1, "one connection", relay.connections)
            check(ns.update_messages(mark) == 0, "no UPDATE at named", ns.log())
            check(ns.srv(OWNER) == [], "nothing published")
            return line

    def test_wrong_name_unknown_ca_and_expired_certificate_refused_never_retried(self):
        ns = self.world()
        line = self.refused(ns, ns.tls_port, name="ns2.kms.test", reason="hostname mismatch")
        check("ns2.kms.test" in line, "names the name checked", line)
        line = self.refused(ns, ns.tls_port, ca=ns.tls_other_ca_file,
                            reason="unable to get local issuer certificate")
        check("ns1.kms.test" in line, "names the name checked", line)
        check(line.endswith("(unknown CA; not signed by a CA of --tls-ca)"),
              "the hint in kms-publish's words", line)
        line = self.refused(ns, ns.tls_expired_port, reason="certificate has expired")
        check("ns1.kms.test" in line, "names the name checked", line)

    def test_a_client_certificate_for_a_server_that_wants_one(self):
        ns = self.world()
        out = publish(ns, "publish", "--tls-cert", ns.tls_client_cert_file, "--tls-key",
                      ns.tls_client_key_file, server=ns.tls_mutual_server)
        check(out.returncode == 0, "with the client certificate: published", out)
        check(ns.srv(OWNER) == [(0, 0, 1688, TARGET, 60)], "published", ns.srv(OWNER))
        out = publish(ns, "unpublish", "--json", server=ns.tls_mutual_server)
        check(out.returncode == 1, "without one: refused", out)
        check("asked for a client certificate" in one_line(out), "and says why", out)
        doc = as_json(out)
        check(doc["results"][0]["error"] == "KMS_ETLS" and doc["stats"]["attempts"] == 1,
              "a TLS failure, not retried", doc)
        check(ns.srv(OWNER) == [(0, 0, 1688, TARGET, 60)], "nothing removed", ns.srv(OWNER))

    def test_the_server_closing_the_session_mid_run_is_retried_like_tcp(self):
        ns = self.world(bench_domains=300, querylog=False)
        doms = ",".join("d%04d.kms.test" % i for i in range(1, 301))
        # the relay cuts the first connection once 2000 bytes of answers came
        # back on it: in the middle of the 300 reads
        with TcpRelay(ns.tls_port, cut_after=2000) as relay:
            out = publish(ns, "publish", "--json", server=relay.server, domain=doms)
            check(out.returncode == 0, "all 300 published despite the cut", out)
            doc = as_json(out)
            check(relay.cuts == 1 and relay.connections == 2, "cut once, one reconnection",
                  (relay.cuts, relay.connections))
            check(doc["stats"]["tls_handshakes"] == 2, "a second handshake", doc["stats"])
            check(doc["stats"]["attempts"] > doc["stats"]["queries"] + doc["stats"]["updates"],
                  "the exchanges cut off were sent again", doc["stats"])
        check(ns.srv("_vlmcs._tcp.d0150.kms.test") == [(0, 0, 1688, TARGET, 60)], "served")

    def test_named_restarted_mid_run_is_retried_like_tcp(self):
        """named stopped gracefully (SIGTERM: it closes its TLS sessions)
        while a 1000-domain kms-publish run has its session up and answers
        flowing, then started again from its journal: every exchange cut
        off is sent again on a new session and every domain is published."""
        n = 1000
        ns = self.world(bench_domains=n, querylog=False)
        doms = ",".join("d%04d.kms.test" % i for i in range(1, n + 1))
        # the relay only counts: the bytes named sent back on the first
        # connection (cut_after far beyond the run: never cut)
        with TcpRelay(ns.tls_port, cut_after=1 << 40) as relay:
            proc = subprocess.Popen([harness.program("kms-publish"), "publish",
                                     *tls_args(ns, relay.server), "--key", ns.key_file,
                                     "--domain", doms, "--target", "kms1.kms.test", "--ttl", "60",
                                     "--attempts", "30", "--timeout", "1", "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # mid-run: a few dozen answers in, most of the 1000 reads to come
                harness.wait_until(lambda: relay._back >= 4000 or proc.poll() is not None,
                                   timeout=30, step=0.005)
                check(proc.poll() is None, "still running when named stops", proc.returncode)
                check(relay.open_connections() == 1, "its session is up", relay.connections)
                os.kill(ns.pid, signal.SIGTERM)
                check(harness.wait_until(lambda: not ns.alive(), timeout=15), "named stopped")
                ns.restart_kept()
                stdout, stderr = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        check(proc.returncode == 0, "every domain published once named was back",
              stdout[-2000:] + stderr[-2000:])
        doc = json.loads(stdout)
        check(len(doc["results"]) == n and all(r["ok"] for r in doc["results"]), "each ok")
        st = doc["stats"]
        check(st["tls_handshakes"] >= 2 and relay.connections >= 2,
              "a new session after the stop", (st, relay.connections))
        check(st["attempts"] > st["queries"] + st["updates"],
              "the exchanges cut off were sent again", st)
        check(st["udp"] == 0 and st["tcp"] == 0, "all of it over TLS", st)
        # what named serves: every domain, read back in one run over plain DNS
        out = kms_publish("show", "--server", ns.server, "--domain", doms, "--json", timeout=120)
        check(out.returncode == 0, "show", out)
        shown = as_json(out)["results"]
        missing = [r["domain"] for r in shown
                   if [(x["priority"], x["weight"], x["port"], x["target"])
                       for x in r["records"]] != [(0, 0, 1688, TARGET)]]
        check(missing == [], "named serves every record", missing[:10])

    def test_a_thousand_domains_over_one_tls_connection(self):
        ns = self.world(bench_domains=1000, querylog=False)
        doms = ",".join("d%04d.kms.test" % i for i in range(1, 1001))
        with TcpRelay(ns.tls_port) as relay:
            t0 = time.monotonic()
            out = publish(ns, "publish", "--json", server=relay.server, domain=doms, timeout=300)
            took = time.monotonic() - t0
            check(out.returncode == 0, "1000 domains published over DoT", out)
            doc = as_json(out)
            check(all(r["ok"] for r in doc["results"]) and len(doc["results"]) == 1000,
                  "each domain ok")
            check(doc["stats"]["tls_handshakes"] == 1, "one handshake", doc["stats"])
            check(relay.connections == 1, "ONE TLS connection", relay.connections)
            check(doc["stats"]["udp"] == 0 and doc["stats"]["tcp"] == 0, "nothing outside it",
                  doc["stats"])
        print("1000 domains over one DoT connection: %.2f s" % took, flush=True)
        for d in ("d0001", "d0500", "d1000"):
            check(ns.srv("_vlmcs._tcp.%s.kms.test" % d) == [(0, 0, 1688, TARGET, 60)], d)

    def test_tcp_every_message_over_plain_tcp_the_baseline_of_dot(self):
        """--tcp (bench/run-dot's baseline): the reads, the UPDATE and its
        read-back over TCP, none over UDP; published as over UDP."""
        ns = self.world(bench_domains=20, querylog=False)
        doms = ",".join("d%04d.kms.test" % i for i in range(1, 21))
        out = kms_publish("publish", "--tcp", "--server", ns.server, "--key", ns.key_file,
                          "--domain", doms, "--target", "kms1.kms.test", "--ttl", 60, "--json")
        check(out.returncode == 0, "published over TCP", out)
        st = as_json(out)["stats"]
        check(st["udp"] == 0 and st["tls"] == 0, "nothing over UDP (nor TLS)", st)
        check(st["tcp"] == st["queries"] + st["updates"] > 20, "every message over TCP", st)
        check(ns.srv("_vlmcs._tcp.d0020.kms.test") == [(0, 0, 1688, TARGET, 60)], "served")

    def test_gss_tsig_over_dot(self):
        try:
            ns = self.world(gss=True)
        except harness.NoKerberos as e:
            self.skipTest(str(e))
        env = ns.kinit("kms1")
        with TcpRelay(ns.tls_port) as relay:
            out = kms_publish("publish", *tls_args(ns, relay.server), "--gss", "--domain",
                              "kms.test", "--target", "kms1.kms.test", "--ttl", 60, "--json",
                              env=env)
            check(out.returncode == 0, "GSS-TSIG (TKEY and UPDATE) over DoT", out)
            doc = as_json(out)
            check(doc["stats"]["udp"] == 0 and doc["stats"]["tcp"] == 0,
                  "TKEY went over TLS too", doc["stats"])
            check(relay.connections == 1, "one connection", relay.connections)
        check(ns.srv(OWNER) == [(0, 0, 1688, TARGET, 60)], "published", ns.srv(OWNER))
        check(any("key host/kms1.kms.test\\@KMS.TEST" in l for l in ns.update_lines()),
              "signed by host/kms1", ns.log())

    def test_usage_errors_of_the_tls_options(self):
        cases = [
            (["--tls-ca", "/etc/hosts"], "kms-publish: --tls-ca goes with --tls"),
            (["--tls-name", "ns1.kms.test"], "kms-publish: --tls-name goes with --tls"),
            (["--tls-cert", "/etc/hosts"], "kms-publish: --tls-cert goes with --tls"),
            (["--tls", "--tls-key", "/etc/hosts"],
             "kms-publish: --tls-key: a client key needs its certificate"),
            (["--tls", "--tls-ca", "/nonexistent/ca.pem"],
             "kms-publish: --tls-ca: cannot read /nonexistent/ca.pem: No such file"),
            (["--tls", "--tls-name", "bad_name!"], "kms-publish: --tls-name: 'bad_name!'"),
            (["--tls", "--server", "127.0.0.1:x"], "kms-publish: bad address"),
        ]
        # files that can be read but not loaded: refused at start, naming
        # the option and the file (not a "configuration error" later)
        garbage, (cert, key), other_key = self.unloadable_files()
        cases += [
            (["--tls", "--tls-ca", garbage],
             "kms-publish: --tls-ca: TLS: cannot load the CA file %s: " % garbage),
            (["--tls", "--tls-cert", "/etc/hosts"],
             "kms-publish: --tls-cert: TLS: cannot load the client certificate /etc/hosts: "),
            (["--tls", "--tls-cert", cert, "--tls-key", garbage],
             "kms-publish: --tls-key: TLS: cannot load the client key %s: " % garbage),
            (["--tls", "--tls-cert", cert, "--tls-key", other_key],
             "kms-publish: --tls-key: TLS: cannot load the client key %s: key values mismatch"
             % other_key),
        ]
        for args, want in cases:
            out = kms_publish("show", "--domain", "kms.test", *args)
            check(out.returncode == 2, "exit 2: %s" % args, out)
            check(one_line(out).startswith(want), want, out)
            check("configuration error" not in out.stderr, "the reason, not a status", out)
        os.chmod(key, 0o644)
        out = kms_publish("show", "--domain", "kms.test", "--tls", "--tls-cert", cert,
                          "--tls-key", key, "--server", "127.0.0.1:1", "--attempts", 1)
        check("TLS client key %s is readable by others (mode 0644): chmod o-r" % key in out.stderr,
              "a key others can read is warned about", out)
        check(out.returncode == 1, "used all the same: the run fails on the server", out)

    def client_pair(self, name):
        """A self-signed certificate and its key (PEM files in the test's dir)."""
        cert = os.path.join(self.tmp, name + ".crt")
        key = os.path.join(self.tmp, name + ".key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-subj", "/CN=" + name, "-days", "1"],
                       check=True, capture_output=True)
        return cert, key

    def unloadable_files(self):
        """A file that holds no PEM, a client pair, and a key of another pair."""
        garbage = os.path.join(self.tmp, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        return garbage, self.client_pair("client"), self.client_pair("other")[1]

    # ---- kmsd ---------------------------------------------------------------
    def dns_conf(self, ns, server=None, **more):
        conf = {"publish": "yes", "domains": "kms.test", "target": "kms1.kms.test",
                "ttl": "60", "server": server or ns.tls_server, "key_file": ns.key_file,
                "tls": "yes", "tls_ca_file": ns.tls_ca_file, "tls_name": ns.tls_name,
                "refresh": "1h"}
        conf.update(more)
        return {"dns": conf}

    def test_kmsd_publishes_checks_and_removes_over_dot(self):
        ns = self.world()
        with TcpRelay(ns.tls_port) as relay:
            d = self.kmsd(extra=self.dns_conf(ns, relay.server, check="1s")).start()
            recs = ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=15)
            check(recs == [(0, 0, d.port, TARGET, 60)], "kmsd published over DoT", recs)
            text = d.ctl("status").stdout
            check("dns_transport tls name=ns1.kms.test ca=%s cert=-" % ns.tls_ca_file in text,
                  "status: dns_transport", text)
            check("dns_domain kms.test publish ok" in text, "status: ok", text)
            st = json.loads(d.ctl("status", json=True).stdout)["dns"]["transport"]
            check(st == {"tls": True, "name": "ns1.kms.test", "ca_file": ns.tls_ca_file,
                         "cert_file": None}, "status JSON: transport", st)

            # named restarted, the record deleted behind kmsd's back (over
            # plain DNS): the check puts it back over a new TLS session
            ns.kill9()
            ns.restart_kept()
            harness.srv_update(ns, ["update delete %s SRV 0 0 %d %s" % (OWNER, d.port, TARGET)])
            check(ns.srv(OWNER) == [], "deleted")
            recs = ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=20)
            check(recs == [(0, 0, d.port, TARGET, 60)], "put back after the restart", d.log_tail())
            check(relay.connections >= 2, "on a new connection", relay.connections)

            r = d.ctl("cdns")
            check("dns kms.test ok" in r.stdout, "cdns over DoT", r.stdout)
            check(ns.srv(OWNER) == [], "removed", ns.srv(OWNER))
            self.stop_clean(d)

    def test_kmsd_wrong_name_is_one_error_and_no_retry_storm(self):
        ns = self.world()
        with TcpRelay(ns.tls_port) as relay:
            d = self.kmsd(extra=self.dns_conf(ns, relay.server, tls_name="ns2.kms.test")).start()
            check(d.wait_log("hostname mismatch", timeout=15), "the failure is logged",
                  d.log_tail())
            time.sleep(3)  # a retry storm would show by now (backoff starts at 1 s)
            text = d.ctl("status").stdout
            check("dns_domain kms.test publish error" in text and "hostname mismatch" in text,
                  "status: the certificate failure", text)
            check(relay.connections == 1, "never retried", relay.connections)
            check(ns.srv(OWNER) == [], "nothing published")
            self.stop_clean(d)

    def test_kmsd_unknown_ca_says_what_to_set_in_kmsd_conf(self):
        ns = self.world()
        conf = self.dns_conf(ns, tls_ca_file=ns.tls_other_ca_file)
        d = self.kmsd("kmsd-other-ca", extra=conf).start()
        check(d.wait_log("(unknown CA; not signed by a CA of tls_ca_file)", timeout=15),
              "the hint in kmsd.conf's words", d.log_tail())
        self.stop_clean(d)
        del conf["dns"]["tls_ca_file"]  # the system store: the test CA is not in it
        d = self.kmsd("kmsd-system-ca", extra=conf).start()
        check(d.wait_log("(unknown CA; set [dns] tls_ca_file)", timeout=15),
              "the hint in kmsd.conf's words", d.log_tail())
        check("--tls-ca" not in d.log(), "no kms-publish option named", d.log_tail())
        self.stop_clean(d)

    def test_kmsd_tls_configuration_errors(self):
        ns = self.world()
        cases = [
            ({"tls_ca_file": "/nonexistent/ca.pem"},
             "[dns] tls_ca_file: cannot read /nonexistent/ca.pem"),
            ({"tls": "no"}, "[dns] tls_ca_file: goes with tls = yes"),
            ({"tls_key_file": ns.tls_client_key_file},
             "[dns] tls_key_file: a client key needs its certificate"),
            ({"tls_name": "bad_name!"}, "[dns] tls_name: 'bad_name!'"),
        ]
        # files kmsd can read but not load: refused at start, not a
        # "cannot publish: configuration error" on every job
        garbage, (cert, _), other_key = self.unloadable_files()
        cases += [
            ({"tls_ca_file": garbage},
             "[dns] tls_ca_file: TLS: cannot load the CA file %s: " % garbage),
            ({"tls_cert_file": "/etc/hosts"},
             "[dns] tls_cert_file: TLS: cannot load the client certificate /etc/hosts: "),
            ({"tls_cert_file": cert, "tls_key_file": other_key},
             "[dns] tls_key_file: TLS: cannot load the client key %s: key values mismatch"
             % other_key),
        ]
        for i, (more, want) in enumerate(cases):
            d = self.kmsd("kmsd%d" % i, extra=self.dns_conf(ns, **more))
            d.start(wait=False)
            d.proc.wait(20)
            rc = d.proc.returncode
            d.stop()
            check(rc == 2, "kmsd refuses to start: %s" % more, d.log())
            check(re.search(r"kmsd\.conf:\d+: " + re.escape(want), d.log()), want, d.log())
            check("configuration error" not in d.log(), "the reason, not a status", d.log())

        # on SIGHUP the same line refuses the reload; the running settings stay
        d = self.kmsd("kmsd-hup", extra=self.dns_conf(ns)).start()
        recs = ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=15)
        check(recs == [(0, 0, d.port, TARGET, 60)], "published", recs)
        d.write_config(self.dns_conf(ns, tls_ca_file=garbage))
        d.signal(signal.SIGHUP)
        want = ("reload failed, keeping the running configuration: %s:" % d.config)
        check(d.wait_log(want, timeout=10), "the reload refused", d.log_tail())
        line = [l for l in d.log().splitlines() if want in l][0]
        check(re.search(r"kmsd\.conf:\d+: \[dns\] tls_ca_file: TLS: cannot load the CA file "
                        + re.escape(garbage), line), "naming the key and the file", line)
        check("kms.test publish ok" in d.ctl("status").stdout, "still publishing", d.log_tail())
        self.stop_clean(d)


if __name__ == "__main__":
    harness.in_netns()
    harness.main()
