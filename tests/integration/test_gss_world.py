# SPDX-License-Identifier: MIT
"""The Kerberos test world of zones/start-named --gss, proven with BIND's own
GSS-TSIG client (nsupdate -g): a real MIT KDC (realm KMS.TEST) and a real
named that accepts GSS-TSIG for DNS/ns1.kms.test.

- a host principal (host/kms1.kms.test) may add the SRV record whose target
  is itself; one whose target is another host (kms2.kms.test) is REFUSED;
- it may delete its own RR but not the whole RRset, which the TSIG admin
  key (kms-publisher.) still may: the existing grants are kept;
- the AD-style machine account KMS1$ stands for kms1.kms.test: it may
  delete kms1's record, and not add one for kms2;
- --ticket-lifetime 1m: tickets (the TGT and the DNS service ticket) end
  within a minute; without it they last hours;
- kdc_stop() makes the KDC unreachable, kdc_start() brings it back, and
  stop-named stops the KDC with named; without --gss there is no Kerberos
  in named.conf.

Each test has its own world (ports chosen free: ctest runs in parallel).
"""
import os
import time
import unittest

import harness
from harness import Named, check

OWNER = "_vlmcs._tcp.kms.test"
KMS1 = "kms1.kms.test."
KMS2 = "kms2.kms.test."


def add(target, owner=OWNER):
    return "update add %s 300 IN SRV 0 0 1688 %s" % (owner, target)


def delete(target, owner=OWNER):
    return "update delete %s IN SRV 0 0 1688 %s" % (owner, target)


def refused(out):
    return out.returncode != 0 and "REFUSED" in out.stdout + out.stderr


def gone(pid):
    """The process has exited (no longer in /proc, or a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] == "Z"
    except OSError:
        return True


class GssWorld(unittest.TestCase):

    def world(self, **kw):
        ns = Named(gss=True, **kw)
        self.addCleanup(ns.__exit__, None, None, None)
        return ns.start()

    def targets(self, ns):
        return sorted(r[3] for r in ns.srv(OWNER))

    def test_host_adds_its_own_record_and_not_another_hosts(self):
        ns = self.world()
        env = ns.kinit("kms1")
        out = ns.nsupdate_gss(add(KMS1), env, zone="kms.test")
        check(out.returncode == 0, "host/kms1 adds the SRV record whose target is kms1", out)
        check(self.targets(ns) == [KMS1], "the record is served", ns.srv(OWNER))
        check(any("key host/kms1.kms.test\\@KMS.TEST" in l and "adding an RR" in l
                  for l in ns.update_lines()), "named names the principal", ns.log())

        mark = ns.log_mark()
        out = ns.nsupdate_gss(add(KMS2), env, zone="kms.test")
        check(refused(out), "host/kms1 adding a record for kms2 is REFUSED", out)
        check(any("rejected by secure update" in l for l in ns.update_lines(mark)),
              "named's policy refused it", ns.log())
        check(self.targets(ns) == [KMS1], "nothing changed", ns.srv(OWNER))

        # without --ticket-lifetime, the realm's default (hours)
        tickets = ns.klist(env)
        check(tickets and all(end - start > 3600 for start, end, _ in tickets),
              "tickets last hours by default", tickets)

    def test_host_deletes_its_own_rr_not_the_rrset_which_the_admin_key_may(self):
        ns = self.world()
        kms1 = ns.kinit("kms1")
        kms2 = ns.kinit("kms2")
        check(ns.nsupdate_gss(add(KMS1), kms1, zone="kms.test").returncode == 0, "kms1 adds")
        check(ns.nsupdate_gss(add(KMS2), kms2, zone="kms.test").returncode == 0, "kms2 adds")
        check(self.targets(ns) == [KMS1, KMS2], "both served", ns.srv(OWNER))

        out = ns.nsupdate_gss("update delete %s SRV" % OWNER, kms2, zone="kms.test")
        check(refused(out), "host/kms2 deleting the whole RRset is REFUSED", out)
        out = ns.nsupdate_gss(delete(KMS1), kms2, zone="kms.test")
        check(refused(out), "host/kms2 deleting kms1's RR is REFUSED", out)
        check(self.targets(ns) == [KMS1, KMS2], "nothing changed", ns.srv(OWNER))
        out = ns.nsupdate_gss(delete(KMS2), kms2, zone="kms.test")
        check(out.returncode == 0, "host/kms2 deletes its own RR", out)
        check(self.targets(ns) == [KMS1], "kms1's RR survives", ns.srv(OWNER))

        out = ns.nsupdate("update delete %s SRV" % OWNER, zone="kms.test")
        check(out.returncode == 0, "the TSIG admin key deletes the whole RRset", out)
        check(ns.srv(OWNER) == [], "gone", ns.srv(OWNER))

    def test_ad_machine_account_stands_for_its_host(self):
        ns = self.world()
        check(ns.nsupdate_gss(add(KMS1), ns.kinit("kms1"), zone="kms.test").returncode == 0,
              "host/kms1 adds")
        ad = ns.kinit("kms1-ad")
        check(ns.principals["kms1-ad"] == "KMS1$@KMS.TEST", "the AD-style principal",
              ns.principals)
        out = ns.nsupdate_gss(add(KMS2), ad, zone="kms.test")
        check(refused(out), "KMS1$ adding a record for kms2 is REFUSED", out)
        out = ns.nsupdate_gss(delete(KMS1), ad, zone="kms.test")
        check(out.returncode == 0, "KMS1$ deletes kms1's record", out)
        check(ns.srv(OWNER) == [], "gone", ns.srv(OWNER))

    def test_ticket_lifetime_one_minute(self):
        ns = self.world(ticket_lifetime="1m")
        env = ns.kinit("kms1")
        now = time.time()
        out = ns.nsupdate_gss(add(KMS1), env, zone="kms.test")
        check(out.returncode == 0, "update with a short-lived ticket", out)
        tickets = ns.klist(env)
        services = sorted(t[2] for t in tickets)
        check(services == ["DNS/ns1.kms.test@KMS.TEST", "krbtgt/KMS.TEST@KMS.TEST"],
              "a TGT and a ticket for named's principal", tickets)
        for start, end, service in tickets:
            check(0 < end - start <= 60, "%s lives at most 1 minute" % service, tickets)
            check(end <= now + 62, "%s ends within a minute from now" % service, tickets)

    def test_kdc_stop_start_and_stop_named(self):
        ns = self.world()
        pid = ns.kdc_pid
        ns.kdc_stop()
        check(gone(pid), "KDC stopped")
        try:
            ns.kinit("kms1")
            check(False, "kinit worked with the KDC stopped")
        except RuntimeError as e:
            check("Cannot contact any KDC" in str(e), "KDC unreachable", str(e))
        ns.kdc_start()
        env = ns.kinit("kms2")
        check(ns.nsupdate_gss(add(KMS2), env, zone="kms.test").returncode == 0,
              "update after the KDC came back")

        # stop() stops the KDC kdc_start() started, with named
        pid = ns.kdc_pid
        ns.stop()
        check(harness.wait_until(lambda: gone(pid), timeout=5), "KDC stopped with named")
        check(not os.path.exists(os.path.join(ns.dir, "kdc.started-pid")), "pid file removed")

    def test_stop_named_stops_the_kdc_start_named_started(self):
        ns = self.world()
        pid = ns.kdc_pid
        with open("/proc/%d/cmdline" % pid) as f:
            check(f.read().split("\0")[0].endswith("krb5kdc"), "KDC_PID is the KDC")
        out = harness.run([os.path.join(harness.ZONES, "stop-named"), ns.dir], timeout=20)
        check(out.returncode == 0, "stop-named", out)
        check(harness.wait_until(lambda: gone(pid), timeout=5), "stop-named stopped the KDC")
        check(gone(ns.pid), "and named")
        ns.pid = ns.kdc_pid = None

    def test_without_gss_no_kerberos(self):
        with Named() as ns:
            with open(os.path.join(ns.dir, "named.conf")) as f:
                conf = f.read()
            check("tkey-gssapi" not in conf and "KMS.TEST" not in conf,
                  "no GSS-TSIG in named.conf", conf)
            check(not os.path.exists(os.path.join(ns.dir, "krb5.conf")), "no krb5.conf")


if __name__ == "__main__":
    harness.main()
