# SPDX-License-Identifier: MIT
"""kmsd publishing its own SRV records into a real named.

Covers: publish at start with exact TTL/priority/weight/port/target; a
multi-domain list with per-domain priority/weight; named down when kmsd
starts (kmsd serves, the record appears once named is up, no restart); a
record deleted behind kmsd's back comes back at the next refresh; cdns
removes only our record and persists across a restart; sdns publishes again;
decommission waits for DNS and reports per-domain results, recommission
brings the host back (serving, publishing); SIGTERM leaves the
record; a wrong key is one clear error in status and no retry storm.
"""
import json
import os
import signal
import time

import harness
from harness import EXAMPLE_KEY, Named, kms_client, make_key, wait_until

OWNER = "_vlmcs._tcp.kms.test"
CORP = "_vlmcs._tcp.corp.test"
TARGET = "kms1.kms.test."


def notl(recs):
    return [r[:4] for r in recs]


class KmsdDns(harness.NamedKmsdTestCase):
    def dns_conf(self, ns_server, key_file, **more):
        conf = {"publish": "yes", "domains": "kms.test", "target": "kms1.kms.test",
                "ttl": "1234", "priority": "3", "weight": "7", "server": ns_server,
                "key_file": key_file, "refresh": "1h"}
        conf.update(more)
        return {"dns": conf}

    def status_json(self, d):
        return json.loads(d.ctl("status", json=True).stdout)

    def test_publish_at_start_exact_record_and_sigterm_keeps_it(self):
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file)).start()
        recs = ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        self.assertEqual(recs, [(3, 7, d.port, TARGET, 1234)])
        st = self.status_json(d)
        self.assertTrue(st["dns"]["publish"])
        row = [x for x in st["dns"]["domains"] if x["domain"] == "kms.test"][0]
        self.assertEqual((row["op"], row["result"], row["ok"]), ("publish", "ok", True), row)
        self.assertGreater(row["time"], 0)
        text = d.ctl("status").stdout
        self.assertIn("dns publishing=yes", text)
        self.assertRegex(text, r"dns_domain kms\.test publish ok time=\d+ ")
        # SIGTERM never unpublishes
        self.stop_clean(d)
        time.sleep(0.3)
        self.assertEqual(ns.srv(OWNER), [(3, 7, d.port, TARGET, 1234)])

    def test_multi_domain_per_domain_priority_weight(self):
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file,
                                          domains="kms.test, corp.test 10 50")).start()
        self.assertEqual(ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10),
                         [(3, 7, d.port, TARGET, 1234)])
        self.assertEqual(ns.wait_srv(CORP, lambda r: len(r) == 1, timeout=10),
                         [(10, 50, d.port, TARGET, 1234)])
        # sprio re-publishes kms.test (default priority) with the new value
        r = d.ctl("sprio", "5")
        self.assertIn("priority 5", r.stdout)
        self.assertIn("dns kms.test ok", r.stdout)
        self.assertEqual(ns.srv(OWNER), [(5, 7, d.port, TARGET, 1234)])
        self.assertEqual(ns.srv(CORP), [(10, 50, d.port, TARGET, 1234)])
        # sdomains drops corp.test: unpublished there
        r = d.ctl("sdomains", "kms.test")
        self.assertIn("dns kms.test ok", r.stdout)
        self.assertEqual(ns.wait_srv(CORP, lambda x: x == [], timeout=10), [])
        self.assertEqual(ns.srv(OWNER), [(5, 7, d.port, TARGET, 1234)])
        self.stop_clean(d)

    def named_later(self, **more):
        """Config for a named not running yet: its port and key are chosen
        now; start_named_later() starts it there."""
        self._later_port = harness.free_port()
        self._later_dir = os.path.join(self.tmp, "named")
        os.makedirs(self._later_dir)
        key = os.path.join(self._later_dir, "kms-publisher.key")
        make_key(key)
        return self.dns_conf("127.0.0.1:%d" % self._later_port, key, **more)

    def start_named_later(self):
        self.ns = Named(workdir=self._later_dir)
        self.ns.args += ["--port", str(self._later_port)]
        self.ns.start()
        self.assertEqual(self.ns.port, self._later_port)
        return self.ns

    def test_named_down_at_start_then_up(self):
        d = self.kmsd(extra=self.named_later(refresh="2s")).start()
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(rc, 0, r.stdout + r.stderr)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        time.sleep(1.0)
        st = self.status_json(d)
        self.assertTrue(st["dns"]["running"], st["dns"])
        self.start_named_later()
        recs = self.ns.wait_srv(OWNER, lambda x: len(x) == 1, timeout=40)
        self.assertEqual(recs, [(3, 7, d.port, TARGET, 1234)])
        # each failed attempt was logged once (at debug level: the warning
        # is one per background retry step), with backoff (no flood)
        attempts = [l for l in d.log().splitlines() if " debug: " in l and "(attempt " in l]
        self.assertGreaterEqual(len(attempts), 1, d.log_tail())
        self.assertLess(len(attempts), 30, "\n".join(attempts))
        warns = [l for l in d.log().splitlines() if " warning: " in l]
        self.assertLess(len(warns), 10, "\n".join(warns))
        self.stop_clean(d)

    def test_sdns_while_named_is_down_keeps_trying_in_the_background(self):
        conf = self.named_later(publish="no")
        d = self.kmsd(extra=conf).start()
        # the verb's own bounded run fails and says so...
        r = d.ctl("sdns", check=False)
        self.assertIn("dns kms.test error", r.stdout + r.stderr)
        self.assertTrue(d.wait_log("retrying in the background"), d.log_tail())
        self.assertTrue(self.status_json(d)["dns"]["publish"])
        # ...and the record appears once named is up, with no further command
        self.start_named_later()
        recs = self.ns.wait_srv(OWNER, lambda x: len(x) == 1, timeout=40)
        self.assertEqual(recs, [(3, 7, d.port, TARGET, 1234)])
        self.stop_clean(d)

    def test_reload_during_an_outage_drops_the_stale_retries(self):
        # named down: the start-up publish (priority 3) waits for a retry;
        # a reload to priority 9 must win, not be undone by that retry
        conf = self.named_later()
        d = self.kmsd(extra=conf).start()
        self.assertTrue(d.wait_log("retrying in the background"), d.log_tail())
        conf["dns"]["priority"] = "9"
        d.write_config(conf)
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("settings changed"), d.log_tail())
        self.start_named_later()
        want = [(9, 7, d.port, TARGET, 1234)]
        self.assertEqual(self.ns.wait_srv(OWNER, lambda r: r == want, timeout=40), want)
        time.sleep(4)  # longer than the retry steps so far: nothing older comes back
        self.assertEqual(self.ns.srv(OWNER), want)
        self.stop_clean(d)

    def test_sighup_with_changed_dns_settings_republishes(self):
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file))
        d.start()
        ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        d.write_config(self.dns_conf(ns.server, ns.key_file, ttl="777", weight="9"))
        d.signal(signal.SIGHUP)
        recs = ns.wait_srv(OWNER, lambda r: r and r[0][4] == 777, timeout=10)
        self.assertEqual(recs, [(3, 9, d.port, TARGET, 777)])
        # an unchanged reload sends nothing
        time.sleep(0.5)
        mark = ns.log_mark()
        d.signal(signal.SIGHUP)
        time.sleep(1.0)
        self.assertEqual(ns.update_messages(mark), 0)
        self.stop_clean(d)

    def test_older_records_are_removed_after_a_move_even_across_restarts(self):
        # the seed's migration, inside one host: its name and port change and
        # a domain leaves its list, partly while kmsd is stopped
        ns = self.named()
        other = ns.nsupdate("update add %s. 1234 IN SRV 0 0 1688 kms2.kms.test." % OWNER)
        self.assertEqual(other.returncode, 0, other.stderr)
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file, domains="kms.test, corp.test"))
        d.start()
        ns.wait_srv(OWNER, lambda r: len(r) == 2, timeout=10)
        ns.wait_srv(CORP, lambda r: len(r) == 1, timeout=10)
        self.stop_clean(d)  # SIGTERM: the records stay
        self.assertEqual(notl(ns.srv(CORP)), [(3, 7, d.port, TARGET)])
        # stopped: new target, corp.test dropped, another port
        old_port, d.port = d.port, harness.free_port()
        d.listen = ["127.0.0.1:%d" % d.port]
        d.write_config(self.dns_conf(ns.server, ns.key_file, target="kms9.kms.test"))
        d.start()
        want = [(0, 0, 1688, "kms2.kms.test."), (3, 7, d.port, "kms9.kms.test.")]
        self.assertEqual(notl(ns.wait_srv(OWNER, lambda r: notl(r) == want, timeout=15)), want)
        self.assertEqual(ns.wait_srv(CORP, lambda r: r == [], timeout=15), [])
        self.assertIn("removing 2 older record(s) of kms1.kms.test. port %d" % old_port, d.log())
        with open(os.path.join(d.state_dir, "published")) as f:
            self.assertEqual([l for l in f.read().splitlines() if l.startswith("record")],
                             ["record kms.test. kms9.kms.test. %d" % d.port])
        # and at run time: SIGHUP with yet another target
        d.write_config(self.dns_conf(ns.server, ns.key_file, target="kms8.kms.test"))
        d.signal(signal.SIGHUP)
        want = [(0, 0, 1688, "kms2.kms.test."), (3, 7, d.port, "kms8.kms.test.")]
        self.assertEqual(notl(ns.wait_srv(OWNER, lambda r: notl(r) == want, timeout=15)), want)
        # cdns removes ours only; nothing of ours is left to remember
        r = d.ctl("cdns")
        self.assertIn("dns kms.test ok", r.stdout)
        self.assertEqual(notl(ns.srv(OWNER)), [(0, 0, 1688, "kms2.kms.test.")])
        with open(os.path.join(d.state_dir, "published")) as f:
            self.assertFalse([l for l in f.read().splitlines() if l.startswith("record")])
        self.stop_clean(d)

    def test_record_deleted_behind_our_back_is_restored(self):
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file, refresh="2s")).start()
        ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        out = ns.nsupdate("update delete %s. SRV" % OWNER)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(ns.srv(OWNER), [])
        recs = ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        self.assertEqual(recs, [(3, 7, d.port, TARGET, 1234)])
        self.stop_clean(d)

    def test_check_repairs_a_deleted_record_and_is_quiet_otherwise(self):
        """[dns] check reads our record at the primary between refreshes: a
        deleted record is back within `check`; a check that finds it in
        place sends no UPDATE and logs nothing above debug."""
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file, check="1s")).start()
        ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        self.assertTrue(d.wait_log("dns: kms.test: published"), d.log_tail())
        time.sleep(1)  # the start-up run is over
        mark, log_mark = ns.log_mark(), len(d.log())
        self.assertTrue(wait_until(lambda: d.log()[log_mark:].count("debug: dns: check\n") >= 3,
                                   timeout=10), d.log_tail())
        self.assertEqual(ns.update_lines(mark), [])
        self.assertGreater(len(ns.query_lines(mark)), 0)  # it did read
        later = d.log()[log_mark:]
        self.assertNotIn(" info: ", later)
        self.assertIn("debug: dns: kms.test: already published _vlmcs._tcp.kms.test. 1234 IN SRV "
                      "3 7 %d kms1.kms.test. " % d.port, later)
        # deleted behind kmsd's back: back within a second or two, one UPDATE
        out = ns.nsupdate("update delete %s. SRV" % OWNER)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(ns.srv(OWNER), [])
        t0 = time.monotonic()
        recs = ns.wait_srv(OWNER, lambda x: len(x) == 1, timeout=10)
        self.assertEqual(recs, [(3, 7, d.port, TARGET, 1234)])
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("info: dns: kms.test: published", d.log()[log_mark:])
        self.stop_clean(d)

    def test_one_zone_failing_does_not_hold_up_the_others(self):
        # broken.test: named answers SERVFAIL (a failure that may pass, so
        # kmsd keeps retrying it) while kms.test works
        ns = self.named(broken_zone=True)
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file, refresh="2s",
                                          domains="kms.test, broken.test")).start()
        ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)

        def rows():
            st = self.status_json(d)["dns"]
            return {x["domain"]: x for x in st["domains"]}, st
        # both rows get their result although broken.test never gets through
        r, st = wait_until(lambda: (lambda x: x if x[0].get("broken.test", {}).get("result")
                                    == "error" else None)(rows()), timeout=20) or rows()
        self.assertEqual(r["kms.test"]["result"], "ok", st)
        self.assertEqual(r["broken.test"]["result"], "error", st)
        self.assertIn("SERVFAIL", r["broken.test"]["message"], st)
        self.assertTrue(st["running"], st)  # the retry is pending
        # the refresh still restores a record deleted in the healthy zone
        out = ns.nsupdate("update delete %s. SRV" % OWNER)
        self.assertEqual(out.returncode, 0, out.stderr)
        recs = ns.wait_srv(OWNER, lambda x: len(x) == 1, timeout=15)
        self.assertEqual(recs, [(3, 7, d.port, TARGET, 1234)])
        # each retry step is one line, the delay growing
        steps = [l for l in d.log().splitlines() if "retrying in the background in" in l]
        self.assertGreaterEqual(len(steps), 1, d.log_tail())
        self.assertTrue(all("broken.test" in l for l in steps), steps)
        delays = [float(l.rsplit(" in ", 1)[1].split()[0]) for l in steps]
        self.assertEqual(delays, sorted(delays), steps)
        # ... and the only warning of its step: each failed attempt within
        # a run is at debug level (as docs/configuration.md says)
        warnings = [l for l in d.log().splitlines() if " warning: " in l]
        self.assertEqual(warnings, steps)
        self.assertTrue(any(" debug: " in l and "(attempt " in l for l in d.log().splitlines()),
                        d.log_tail())
        self.stop_clean(d)

    def test_verify_waits_for_every_name_server(self):
        ns = self.named(lagging_ns=True)
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file, verify="yes",
                                          verify_timeout="2", domains="kms.test")).start()
        # kms.test has one name server: verified there
        self.assertTrue(wait_until(lambda: "verified on 1 name server" in
                                   d.ctl("status").stdout, timeout=15), d.ctl("status").stdout)
        # lag.test's second name server never answers: the verb's result says so
        r = d.ctl("sdomains", "kms.test, lag.test", check=False, timeout=30)
        self.assertIn("dns lag.test error updated, but name server ns2.lag.test. does not serve "
                      "the new state of _vlmcs._tcp.lag.test. after 2 s", r.stdout + r.stderr)
        self.assertIn("dns kms.test ok", r.stdout + r.stderr)
        self.stop_clean(d)

    def test_cdns_removes_only_ours_persists_then_sdns(self):
        ns = self.named()
        out = ns.nsupdate("update add %s. 600 IN SRV 0 0 1688 kms2.kms.test." % OWNER)
        self.assertEqual(out.returncode, 0, out.stderr)
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file)).start()
        ns.wait_srv(OWNER, lambda r: len(r) == 2, timeout=10)
        r = d.ctl("cdns")
        self.assertTrue(r.stdout.startswith("publish no"), r.stdout)
        self.assertIn("dns kms.test ok", r.stdout)
        # the reply came after the DNS work: our record is already gone
        # (the RRset shares one TTL in DNS, so compare without it)
        self.assertEqual(notl(ns.srv(OWNER)), [(0, 0, 1688, "kms2.kms.test.")])
        self.stop_clean(d)
        # restart: publishing stays off
        mark = ns.log_mark()
        d.start()
        time.sleep(1.5)
        self.assertEqual(ns.update_messages(mark), 0)
        self.assertEqual(notl(ns.srv(OWNER)), [(0, 0, 1688, "kms2.kms.test.")])
        self.assertFalse(self.status_json(d)["dns"]["publish"])
        # sdns publishes again (reply after the update)
        r = d.ctl("sdns")
        self.assertIn("publish yes", r.stdout)
        self.assertIn("dns kms.test ok", r.stdout)
        self.assertEqual(notl(ns.srv(OWNER)), [(0, 0, 1688, "kms2.kms.test."),
                                               (3, 7, d.port, TARGET)])
        self.stop_clean(d)

    def test_decommission_reports_per_domain_and_removes(self):
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file,
                                          domains="kms.test, corp.test 10 50")).start()
        ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        ns.wait_srv(CORP, lambda r: len(r) == 1, timeout=10)
        r = d.ctl("decommission")
        lines = r.stdout.splitlines()
        self.assertIn("decommissioned yes", lines)
        self.assertTrue(any(l.startswith("dns kms.test ok") for l in lines), lines)
        self.assertTrue(any(l.startswith("dns corp.test ok") for l in lines), lines)
        self.assertEqual(ns.srv(OWNER), [])
        self.assertEqual(ns.srv(CORP), [])
        st = self.status_json(d)
        self.assertTrue(st["settings"]["decommissioned"])
        self.assertFalse(st["dns"]["publish"])
        # a decommissioned host refuses sdns and serves nobody ...
        r = d.ctl("sdns", check=False)
        self.assertIn("kmsctl recommission brings it back", r.stderr)
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")  # ato also ends decommissioned (as it did before recommission existed)
        d.ctl("decommission")
        rc, kv, out = kms_client("127.0.0.1", d.port)
        self.assertNotEqual(kv.get("status"), "0x00000000", out.stdout)
        # ... until recommission: serving and publishing again
        r = d.ctl("recommission")
        lines = r.stdout.splitlines()
        self.assertIn("decommissioned no", lines)
        self.assertIn("publish yes", lines)
        self.assertIn("serving 1 product", lines)
        self.assertTrue(any(l.startswith("dns kms.test ok published") for l in lines), lines)
        self.assertEqual(len(ns.srv(OWNER)), 1)
        self.assertEqual(len(ns.srv(CORP)), 1)
        rc, kv, out = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", out.stdout)
        self.assertFalse(self.status_json(d)["settings"]["decommissioned"])
        r = d.ctl("recommission", check=False)
        self.assertIn("this host is not decommissioned", r.stderr)
        self.stop_clean(d)

    def test_cdns_failure_is_err_naming_domain_setting_persists(self):
        ns = self.named()
        d = self.kmsd(extra=self.dns_conf(ns.server, ns.key_file))
        d.start()
        ns.wait_srv(OWNER, lambda r: len(r) == 1, timeout=10)
        # SIGHUP with a key the server knows but grants nothing: updates REFUSED
        d.write_config(self.dns_conf(ns.server, ns.other_key_file))
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("configuration reloaded"), d.log_tail())
        r = d.ctl("cdns", check=False)
        self.assertEqual(r.returncode, 1, r.stdout)  # refused by DNS, not bad usage
        self.assertIn("dns kms.test:", r.stderr + r.stdout)
        self.assertIn("REFUSED", r.stderr + r.stdout)
        # the setting changed anyway; the record is still there
        self.assertFalse(self.status_json(d)["dns"]["publish"])
        self.assertEqual(len(ns.srv(OWNER)), 1)
        self.stop_clean(d)

    def test_wrong_key_clear_error_no_retry_storm(self):
        ns = self.named()
        bad = os.path.join(self.tmp, "bad.key")
        make_key(bad)  # same name, another secret: BADSIG
        mark = ns.log_mark()
        d = self.kmsd(extra=self.dns_conf(ns.server, bad)).start()

        def failed():
            st = self.status_json(d)
            rows = [x for x in st["dns"]["domains"] if x["domain"] == "kms.test"]
            return rows and rows[0]["result"] == "error"

        wait_until(failed, timeout=10)
        row = [x for x in self.status_json(d)["dns"]["domains"] if x["domain"] == "kms.test"][0]
        self.assertIn("BADSIG", row["message"] + row["error"], row)
        time.sleep(3)
        self.assertLessEqual(ns.update_messages(mark), 1)
        errs = [l for l in d.log().splitlines() if "publish failed" in l]
        self.assertEqual(len(errs), 1, errs)
        self.stop_clean(d)

    def test_missing_key_file_is_startup_error(self):
        d = self.kmsd(extra=self.dns_conf("127.0.0.1:53", os.path.join(self.tmp, "nokey")))
        d.start(wait=False)
        rc = d.proc.wait(20)
        self.assertEqual(rc, 2)
        self.assertIn("nokey", d.log())
        # Named like every other bad value: file, line, key.
        with open(d.config) as f:
            line = 1 + [ln.split("=")[0].strip() for ln in f].index("key_file")
        self.assertIn("%s:%d: [dns] key_file: " % (d.config, line), d.log())
        d.proc = None
        d.logf.close()


if __name__ == "__main__":
    harness.main()
