# SPDX-License-Identifier: MIT
"""kms-publish signing with Kerberos (GSS-TSIG, RFC 3645) against a real MIT
KDC and a real named (zones/start-named --gss), whose kms.test lets a host
principal change only SRV records whose target is that host
(krb5-subdomain-self-rhs, ms-subdomain-self-rhs).

Covers: --gss with a ticket cache and with --keytab (publish, show,
unpublish), another host's record at the same name surviving; the AD
machine-account form KMS1$; a record for another host refused with the
policy line, exit 1, nothing changed; no ticket, an expired ticket, a wrong
server principal, an unreachable KDC, a keytab without the principal and a
skewed clock, each one clear line, exit 1, no UPDATE and no TKEY query
(the skew: BADTIME with the skew); one TKEY negotiation per run; interop
with BIND's nsupdate -g both ways; the "gss.microsoft.com" form, forced, and
as the fallback after a FORMERR (given by a relay in front of named that
answers FORMERR to a gss-tsig TKEY query, as older Windows servers do).
"""
import json
import os
import shutil
import socket
import struct
import threading
import time

from harness import Named, check, kms_publish, program, run

OWNER = "_vlmcs._tcp.kms.test"


def one_line(out):
    lines = [l for l in out.stderr.split("\n") if l]
    return lines[-1] if len(lines) == 1 else "<%d lines: %r>" % (len(lines), out.stderr)


def tkey_queries(ns, since):
    return [l for l in ns.query_lines(since) if " TKEY " in l]


class FormerrRelay(threading.Thread):
    """Relays DNS over UDP and TCP to named, except that a TKEY query whose
    algorithm is gss-tsig gets FORMERR back (an older Windows server)."""

    def __init__(self, upstream_port):
        super().__init__(daemon=True)
        self.up = upstream_port
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.formerrs = 0
        self.tkeys = []
        threading.Thread(target=self.serve_udp, daemon=True).start()

    def serve_udp(self):
        while True:
            try:
                msg, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.settimeout(5)
                u.sendto(msg, ("127.0.0.1", self.up))
                try:
                    self.udp.sendto(u.recv(65535), peer)
                except OSError:
                    pass

    def answer(self, msg):
        qd, an, ns_, ar = struct.unpack(">HHHH", msg[4:12])
        if b"\x08gss-tsig\x00" in msg and b"\x00\xf9\x00\xff" in msg:
            self.formerrs += 1
            flags = 0x8000 | 1  # QR, FORMERR
            return msg[:2] + struct.pack(">HHHHH", flags, 0, 0, 0, 0)
        if b"\x00\xf9\x00\xff" in msg:
            self.tkeys.append(b"gss\x09microsoft\x03com" in msg)
        with socket.create_connection(("127.0.0.1", self.up), timeout=5) as c:
            c.sendall(struct.pack(">H", len(msg)) + msg)
            n = struct.unpack(">H", recv_all(c, 2))[0]
            return recv_all(c, n)

    def run(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    while True:
                        n = struct.unpack(">H", recv_all(conn, 2))[0]
                        out = self.answer(recv_all(conn, n))
                        conn.sendall(struct.pack(">H", len(out)) + out)
                except (OSError, struct.error, EOFError):
                    pass

    def close(self):
        self.tcp.close()
        self.udp.close()


def recv_all(c, n):
    buf = b""
    while len(buf) < n:
        got = c.recv(n - len(buf))
        if not got:
            raise EOFError
        buf += got
    return buf


def main():
    with Named(gss=True) as ns:
        A = ["--server", ns.server, "--domain", "kms.test"]
        kms1 = ["--target", "kms1.kms.test"]

        # 1. a ticket cache (kinit), as an admin would run it
        env1 = ns.kinit("kms1")
        out = kms_publish("publish", "--gss", *A, *kms1, env=env1)
        check(out.returncode == 0 and out.stderr == "", "publish --gss (ticket cache)", out)
        check(ns.srv(OWNER) == [(0, 0, 1688, "kms1.kms.test.", 3600)], "record published")
        # the update was signed by our principal (named's log names it)
        check(any("host/kms1.kms.test\\@KMS.TEST: updating zone" in l for l in ns.update_lines()),
              "named names the principal", ns.update_lines())
        out = kms_publish("show", "--gss", *A, env=env1)
        check(out.returncode == 0 and "kms1.kms.test." in out.stdout, "show --gss", out)

        # another host adds its own record with BIND's nsupdate -g
        env2 = ns.kinit("kms2")
        r = ns.nsupdate_gss("update add %s 3600 IN SRV 0 0 1688 kms2.kms.test." % OWNER, env2)
        check(r.returncode == 0, "nsupdate -g as kms2", r)

        # 2. a keytab, no ticket cache at all (kmsd's way)
        empty = ns.krb_env()
        mark = len(ns.log())
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          "--ttl", 600, env=empty)
        check(out.returncode == 0, "publish --gss --keytab", out)
        check(sorted(ns.srv(OWNER)) == [(0, 0, 1688, "kms1.kms.test.", 600),
                                        (0, 0, 1688, "kms2.kms.test.", 600)],
              "ttl changed, kms2 kept", ns.srv(OWNER))
        check(len(tkey_queries(ns, mark)) == 1, "one TKEY negotiation", tkey_queries(ns, mark))
        check(not os.path.exists(empty["KRB5CCNAME"][5:]), "the user's cache is not touched")
        # --verify and --json as with a key
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          "--ttl", 600, "--verify", "--json", env=empty)
        res = json.loads(out.stdout) if out.returncode == 0 else {}
        check(res.get("ok") and res["results"][0]["verified"] and
              "nothing to change" in res["results"][0]["message"], "--verify --json", out)
        out = kms_publish("unpublish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          env=empty)
        check(out.returncode == 0 and ns.srv(OWNER) == [(0, 0, 1688, "kms2.kms.test.", 600)],
              "unpublish removes only ours", out)

        # 3. the AD machine-account form: KMS1$@KMS.TEST may change kms1's record
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1-ad"], "--principal",
                          "KMS1$", *A, *kms1, env=empty)
        check(out.returncode == 0 and ("kms1.kms.test." in str(ns.srv(OWNER))),
              "KMS1$ publishes kms1's record", out)

        # 4. the policy: kms1 may not publish a record for kms3
        before = sorted(ns.srv(OWNER))
        out = kms_publish("publish", "--gss", *A, "--target", "kms3.kms.test", env=env1)
        check(out.returncode == 1, "other target: exit 1", out)
        check(one_line(out) == "kms-publish: update refused by %s#%d: REFUSED: the zone's "
              "policy does not let host/kms1.kms.test@KMS.TEST make this change (Kerberos self "
              "rules, krb5-self/ms-self in BIND and AD's secure updates, allow only records "
              "whose target is the principal's own host)" % ("127.0.0.1", ns.port),
              "policy line", out)
        check(sorted(ns.srv(OWNER)) == before, "nothing changed")

        # 5. faults: one clear line each, exit 1, no UPDATE, no storm
        ccache_missing = ns.krb_env()
        cases = [
            ("no ticket", ["--gss"], ccache_missing,
             "kms-publish: no Kerberos ticket in %s: run kinit, or use a keytab (--keytab FILE)"
             % ccache_missing["KRB5CCNAME"]),
            ("wrong server principal", ["--gss", "--keytab", ns.keytabs["kms1"],
                                        "--server-principal", "DNS/ns9.kms.test"], empty,
             "kms-publish: getting a ticket for DNS/ns9.kms.test@KMS.TEST: the KDC does not know "
             "server principal DNS/ns9.kms.test@KMS.TEST (give the DNS server's principal: "
             "--server-principal / server_principal)"),
            ("keytab without the principal", ["--gss", "--keytab", ns.keytabs["kms2"]], empty,
             "kms-publish: keytab %s holds no key for host/kms1.kms.test@KMS.TEST (klist -k %s "
             "lists what it holds; set the principal to one of them)"
             % (ns.keytabs["kms2"], ns.keytabs["kms2"])),
        ]
        out = kms_publish("unpublish", "--gss", *A, *kms1, env=env1)  # something to change
        for name, opts, env, line in cases:
            mark = len(ns.log())
            t0 = time.monotonic()
            out = kms_publish("publish", *opts, *A, *kms1, env=env)
            took = time.monotonic() - t0
            check(out.returncode == 1, name + ": exit 1", out)
            check(one_line(out) == line, name + ": the line", out)
            check(ns.update_lines(mark) == [], name + ": no UPDATE reached named")
            check(len(tkey_queries(ns, mark)) == 0, name + ": no TKEY query")
            check(took < 10, "%s: quick (%.1f s)" % (name, took))

        # an expired ticket: kinit with a 2-second life, then wait
        envx = ns.krb_env()
        r = run(["kinit", "-l", "2s", "-k", "-t", ns.keytabs["kms1"], ns.principals["kms1"]],
                env=envx, timeout=15)
        check(r.returncode == 0, "kinit -l 2s", r)
        time.sleep(3)
        out = kms_publish("publish", "--gss", *A, *kms1, env=envx)
        check(out.returncode == 1 and one_line(out).startswith(
            "kms-publish: the Kerberos ticket of host/kms1.kms.test@KMS.TEST expired at ")
            and one_line(out).endswith(": run kinit host/kms1.kms.test@KMS.TEST again"),
            "expired ticket line", out)

        # a skewed clock: Kerberos itself corrects for the KDC's time, the
        # TSIG time check does not
        if shutil.which("faketime"):
            env = dict(empty, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0")
            out = run(["faketime", "-f", "+2h", program("kms-publish"),
                       "publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1],
                      env=env, timeout=60)
            # the TKEY answer's signature time already tells: no UPDATE is sent
            check(out.returncode == 1 and one_line(out) == "kms-publish: TKEY answer from "
                  "127.0.0.1#%d: clocks differ by 7200 s (server behind); fix the time on one "
                  "side" % ns.port, "skewed clock: the skew", out)

        # the KDC down: the credentials cannot be had
        ns.kdc_stop()
        mark = len(ns.log())
        t0 = time.monotonic()
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          env=ns.krb_env())
        took = time.monotonic() - t0
        # retried like a server that does not answer (the KDC may come back),
        # within --attempts
        check(out.returncode == 1 and one_line(out) == "kms-publish: getting Kerberos "
              "credentials: cannot reach a KDC (is it running? krb5.conf [realms] kdc = ...) "
              "(4 attempts)", "KDC down line", out)
        check(ns.update_lines(mark) == [] and tkey_queries(ns, mark) == [], "KDC down: nothing sent")
        check(took < 20, "KDC down: bounded (%.1f s)" % took)
        ns.kdc_start()

        # 6. interop with nsupdate -g, both ways, same principal
        r = ns.nsupdate_gss("update add %s 900 IN SRV 5 5 1688 kms1.kms.test." % OWNER, env1)
        check(r.returncode == 0, "nsupdate -g adds kms1's record", r)
        out = kms_publish("publish", "--gss", *A, *kms1, env=env1)
        recs = [x for x in ns.srv(OWNER) if x[3] == "kms1.kms.test."]
        check(out.returncode == 0 and recs == [(0, 0, 1688, "kms1.kms.test.", 3600)],
              "kms-publish replaces nsupdate's record", (out, recs))
        r = ns.nsupdate_gss("update delete %s IN SRV 0 0 1688 kms1.kms.test." % OWNER, env1)
        check(r.returncode == 0 and all(x[3] != "kms1.kms.test." for x in ns.srv(OWNER)),
              "nsupdate -g removes kms-publish's record", r)

        # 7. gss.microsoft.com: forced, and after a FORMERR to gss-tsig
        out = kms_publish("publish", "--gss", "--gss-algorithm", "gss.microsoft.com", *A, *kms1,
                          env=env1)
        check(out.returncode == 0 and len([x for x in ns.srv(OWNER)
                                           if x[3] == "kms1.kms.test."]) == 1,
              "--gss-algorithm gss.microsoft.com", out)
        out = kms_publish("unpublish", "--gss", *A, *kms1, env=env1)
        check(out.returncode == 0, "unpublish", out)
        relay = FormerrRelay(ns.port)
        relay.start()
        try:
            out = kms_publish("publish", "--gss", "--server", "127.0.0.1:%d" % relay.port,
                              "--domain", "kms.test", *kms1, "--verbose", env=env1)
            check(out.returncode == 0, "publish through a server that FORMERRs gss-tsig", out)
            check(relay.formerrs == 1 and relay.tkeys == [True],
                  "one FORMERR, then one gss.microsoft.com negotiation",
                  (relay.formerrs, relay.tkeys))
            check("answered FORMERR to TKEY gss-tsig: trying gss.microsoft.com" in out.stderr,
                  "the fallback is said", out)
            check(len([x for x in ns.srv(OWNER) if x[3] == "kms1.kms.test."]) == 1,
                  "record there")
            out = kms_publish("publish", "--gss", "--gss-algorithm", "gss-tsig", "--server",
                              "127.0.0.1:%d" % relay.port, "--domain", "kms.test", "--target",
                              "kms1.kms.test", "--ttl", 77, env=env1)
            check(out.returncode == 1 and "TKEY negotiation refused by 127.0.0.1#%d: FORMERR"
                  % relay.port in one_line(out), "forced gss-tsig: FORMERR said", out)
        finally:
            relay.close()
    print("ok")


if __name__ == "__main__":
    main()
