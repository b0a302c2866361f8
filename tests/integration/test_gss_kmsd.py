# SPDX-License-Identifier: MIT
"""kmsd signing its updates with Kerberos ([dns] gss_tsig = yes) against a
real MIT KDC and named (zones/start-named --gss).

Covers: credentials from the keytab only (the ticket cache it is given does
not exist and stays so); publish at start, cdns, sdns, decommission;
status showing the method, the principal and when the credentials and the
key end; a key named forgot (killed and restarted) answered BADKEY and
negotiated again, once; a realm whose tickets live 40 s, across several expiries, every
deleted record back (credentials renewed from the keytab, key negotiated
again); activations answered while the KDC does not answer (GSS-API runs
on a worker thread); configuration errors (gss_tsig with key_file, a
keytab without the principal) exit 2 naming the lines.
"""
import json
import os
import socket
import time

import harness
from harness import EXAMPLE_KEY, kms_client, wait_until

OWNER = "_vlmcs._tcp.kms.test"


class KmsdGss(harness.NamedKmsdTestCase):
    def conf(self, ns, **more):
        dns = {"publish": "yes", "domains": "kms.test", "target": "kms1.kms.test",
               "server": ns.server, "gss_tsig": "yes", "keytab": ns.keytabs["kms1"],
               "refresh": "1h", "check": "0"}
        dns.update(more)
        return {"dns": dns}

    def env(self, ns, krb5_config=None):
        env = ns.krb_env()  # a ticket cache that does not exist: kmsd must not need one
        if krb5_config:
            env["KRB5_CONFIG"] = krb5_config
        return env

    def ours(self, ns):
        return [r for r in ns.srv(OWNER) if r[3] == "kms1.kms.test."]

    def status(self, d):
        return json.loads(d.ctl("status", json=True).stdout)

    def test_publish_cdns_sdns_decommission_and_status(self):
        ns = self.named(gss=True)
        env = self.env(ns)
        d = self.kmsd(extra=self.conf(ns)).start(env=env)
        self.assertTrue(ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=15), d.log_tail())
        self.assertEqual(self.ours(ns), [(0, 0, d.port, "kms1.kms.test.", 3600)])
        self.assertFalse(os.path.exists(env["KRB5CCNAME"][5:]), "kmsd wrote the ticket cache")
        auth = self.status(d)["dns"]["auth"]
        now = time.time()
        self.assertEqual(auth["method"], "gss-tsig")
        self.assertEqual(auth["principal"], "host/kms1.kms.test@KMS.TEST")
        self.assertGreater(auth["credentials_expire"], now + 3600)
        self.assertGreater(auth["key_expire"], now + 60)
        self.assertIn("dns_auth gss-tsig principal=host/kms1.kms.test@KMS.TEST ",
                      d.ctl("status").stdout)
        # nothing secret in status
        self.assertNotIn("secret", d.ctl("status", json=True).stdout)

        r = d.ctl("cdns")
        self.assertIn("dns kms.test ok removed 1 record", r.stdout)
        self.assertEqual(self.ours(ns), [])
        r = d.ctl("sdns")
        self.assertIn("dns kms.test ok published", r.stdout)
        self.assertEqual(len(self.ours(ns)), 1)
        r = d.ctl("decommission")
        self.assertIn("dns kms.test ok removed 1 record", r.stdout)
        self.assertEqual(self.ours(ns), [])
        self.assertIn("host/kms1.kms.test\\@KMS.TEST: updating zone",
                      "\n".join(ns.update_lines()))
        self.stop_clean(d)

    def test_key_forgotten_by_named_is_negotiated_again(self):
        ns = self.named(gss=True)
        d = self.kmsd(extra=self.conf(ns)).start(env=self.env(ns))
        self.assertTrue(ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=15), d.log_tail())
        r = d.ctl("cdns")  # the verbs' engine negotiates its key
        self.assertIn("dns kms.test ok removed", r.stdout)
        # named killed (no chance to save its TKEY keys) and started again
        ns.kill9()
        ns.restart_kept()
        mark = len(ns.log())
        r = d.ctl("sdns")  # signed with the key named forgot: BADKEY, a new key, once
        self.assertIn("dns kms.test ok published", r.stdout)
        self.assertEqual(len(self.ours(ns)), 1)
        tkeys = [l for l in ns.query_lines(mark) if " TKEY " in l]
        self.assertEqual(len(tkeys), 1, tkeys)
        self.assertTrue(any("tsig verify failure (BADKEY)" in l or "BADKEY" in l
                            for l in ns.log()[mark:].split("\n")),
                        "named saw the old key: " + ns.log()[mark:][-2000:])
        self.stop_clean(d)

    def test_short_tickets_renewed_from_the_keytab(self):
        ns = self.named(ticket_lifetime="40s")
        d = self.kmsd(extra=self.conf(ns, check="1s")).start(env=self.env(ns))
        self.assertTrue(ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=15), d.log_tail())
        creds = {self.status(d)["dns"]["auth"]["credentials_expire"]}
        start = time.monotonic()
        rounds = 0
        # delete the record behind kmsd's back across three ticket lives:
        # every time it must come back, signed with a valid key
        while time.monotonic() - start < 125:
            time.sleep(12)
            r = ns.nsupdate("update delete %s SRV" % OWNER)
            self.assertEqual(r.returncode, 0, r.stderr)
            back = ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=20)
            self.assertTrue(back, "round %d: not republished\n%s" % (rounds, d.log_tail()))
            creds.add(self.status(d)["dns"]["auth"]["credentials_expire"])
            rounds += 1
        self.assertGreaterEqual(rounds, 8)
        # credentials were fetched again from the keytab, at least once per ticket life
        self.assertGreaterEqual(len(creds), 3, creds)
        self.assertNotIn("error", d.ctl("status").stdout.split("dns_domain")[1].split("\n")[0])
        self.stop_clean(d)

    def test_activations_served_while_the_kdc_is_silent(self):
        ns = self.named(gss=True)
        # a KDC address that takes the datagrams and connections and never answers
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", port))
        tcp.listen(16)
        try:
            with open(ns.krb5_config) as f:
                text = f.read()
            silent = os.path.join(self.tmp, "krb5-silent.conf")
            with open(silent, "w") as f:
                f.write(text.replace("127.0.0.1:%d" % ns.kdc_port, "127.0.0.1:%d" % port))
            d = self.kmsd(extra=self.conf(ns)).start(env=self.env(ns, silent))
            d.ctl("ipk", EXAMPLE_KEY)
            d.ctl("ato")
            # the publish waits for the KDC on a worker: the loop answers meanwhile
            self.assertTrue(wait_until(lambda: udp.recv(4096, socket.MSG_DONTWAIT) if
                                       select_ready(udp) else False, timeout=10),
                            "kmsd never asked the KDC")
            for i in range(5):
                t0 = time.monotonic()
                rc, kv, r = kms_client("127.0.0.1", d.port)
                took = time.monotonic() - t0
                self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
                self.assertLess(took, 2.0, "activation %d took %.1f s" % (i, took))
            self.assertTrue(self.status(d)["dns"]["running"], "the publish is still waiting")
            self.assertEqual(self.ours(ns), [])
            self.stop_clean(d)
        finally:
            udp.close()
            tcp.close()

    def test_configuration_errors(self):
        ns = self.named(gss=True)
        d = self.kmsd(extra=self.conf(ns, key_file=ns.key_file))
        r = d.start(wait=False, env=self.env(ns))
        self.assertEqual(r.proc.wait(20), 2)
        log = d.log()
        self.assertRegex(log, r"kmsd: \S*kmsd\.conf:\d+: \[dns\] gss_tsig = yes and \S*kmsd\.conf:\d+: "
                         r"\[dns\] key_file = .*: sign either with Kerberos or with a TSIG key")
        d2 = self.kmsd("other", extra=self.conf(ns, keytab=ns.keytabs["kms2"]))
        r = d2.start(wait=False, env=self.env(ns))
        self.assertEqual(r.proc.wait(20), 2)
        self.assertIn("[dns] keytab: keytab %s holds no key for host/kms1.kms.test@KMS.TEST"
                      % ns.keytabs["kms2"], d2.log())


def select_ready(sock):
    import select
    return bool(select.select([sock], [], [], 0)[0])


if __name__ == "__main__":
    harness.main()
