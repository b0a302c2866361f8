# SPDX-License-Identifier: MIT
"""kmsd's [dns] key_file / allow_unsigned rule, as docs/configuration.md
states it: with key_file updates are signed; without key_file they go out
unsigned only with allow_unsigned = yes; with neither, kmsd starts and
serves but every publish fails with "no TSIG key" (kmsctl status).
"""
import json

import harness
from harness import Named, wait_until

OWNER = "_vlmcs._tcp.kms.test"


class KmsdKeyRule(harness.KmsdTestCase):
    def setUp(self):
        super().setUp()
        self.ns = Named().start()

    def tearDown(self):
        self.ns.__exit__(None, None, None)
        super().tearDown()

    def conf(self, **more):
        dns = {"publish": "yes", "domains": "kms.test", "target": "kms1.kms.test",
               "server": self.ns.server, "refresh": "1h"}
        dns.update(more)
        return {"dns": dns}

    def row(self, d):
        def done():
            st = json.loads(d.ctl("status", json=True).stdout)
            rows = [x for x in st["dns"]["domains"] if x["domain"] == "kms.test"]
            return rows[0] if rows and rows[0].get("time") else None
        r = wait_until(done, timeout=10)
        self.assertIsNotNone(r, "no publish result in status")
        return r

    def test_no_key_without_allow_unsigned_every_publish_fails(self):
        d = self.kmsd(extra=self.conf()).start()
        r = self.row(d)
        self.assertFalse(r["ok"], r)
        self.assertIn("no TSIG key", json.dumps(r))
        self.assertEqual(self.ns.srv(OWNER), [])
        self.assertEqual(self.ns.update_messages(), 0, "nothing was sent")
        self.stop_clean(d)

    def test_no_key_with_allow_unsigned_sends_unsigned(self):
        d = self.kmsd(extra=self.conf(allow_unsigned="yes")).start()
        r = self.row(d)
        # the test named grants updates to the key only: an unsigned one is refused
        self.assertFalse(r["ok"], r)
        self.assertIn("REFUSED", json.dumps(r))
        # named names the key of a signed update ("127.0.0.1#N/key NAME")
        denied = [l for l in self.ns.log().split("\n") if "update-security" in l and
                  "denied" in l]
        self.assertTrue(denied and all("/key " not in l for l in denied), denied)
        self.stop_clean(d)

    def test_key_signs_whatever_allow_unsigned(self):
        d = self.kmsd(extra=self.conf(key_file=self.ns.key_file, allow_unsigned="yes")).start()
        r = self.row(d)
        self.assertTrue(r["ok"], r)
        self.assertEqual(len(self.ns.srv(OWNER)), 1)
        self.stop_clean(d)


if __name__ == "__main__":
    harness.main()
