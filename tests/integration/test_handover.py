# SPDX-License-Identifier: MIT
"""kmsctl handover: the migration of the seed, step by step, against two
zones (kms.test and corp.test) with three name servers each (the primary
and two secondaries, ns2 and ns3) and two kmsd on their own loopback
addresses publishing in both, kms1.kms.test (127.0.0.11, the old host) and
kms2.kms.test (127.0.0.12, the new one), in a private network namespace of
the test's own (harness.in_netns()).

- --dry-run prints the plan (five "plan" lines), options after HOST and
  HOST in capitals with a final dot accepted, and changes nothing; a
  single-label HOST and an address are refused (exit 2);
- a handover to a host where nothing listens stops at step 1, exit 1,
  "nothing was changed": kms1 still publishes and every server serves it;
- to this host under another name (kms1's address, another name): step 1;
- to kms2 before it serves a product: step 1 with its 0xC004F042 and
  "kmsctl ipk"; while its count is below 25, with the pool, the count and
  the threshold (and in --json: stopped_at 1, changed false);
- to kms3, which answers (--required 1) but is in no name server: step 2
  ("the primary ... holds no record"), nothing changed;
- kms2 brought to 21 clients (below 25: --force goes on); ns3 held back
  (its transfers blocked) for
  3 s, longer than kms1's own [dns] verify_timeout (1 s): cdns answers
  with kmsd's timeout, the handover goes on and waits at step 3 for ns3,
  then completes: kms1's records gone from all three servers in both
  zones, kms2's intact, kms1 decommissioned, kms-locate at every server
  finds kms2 only;
- the way back (kms1 recommissioned, kms2 hands over to it, nothing held,
  --json): the time from start to "old record gone from every server"
  printed beside the NOTIFY-to-transfer-end times the secondaries logged
  and the time dig saw each server stop serving the record.
"""
import json
import os
import re
import shutil
import tempfile
import threading
import time

import harness
from harness import EXAMPLE_KEY, Named, check, in_netns, kms_client, locate
from test_secondaries import dig_poll, notify_to_transfer, secondary_log

DOMAINS = ("kms.test", "corp.test")
WIN10_KMS_ID = "58e2134f-8e11-4d17-9cb2-91069c151148"  # the pool the activation check counts in


def targets(ns, server, domain="kms.test"):
    return sorted((x[2], x[3]) for x in ns.srv("_vlmcs._tcp." + domain, server=server))


def served(ns, want):
    """Every server serves exactly @want in both zones."""
    return all(targets(ns, a, d) == want for a in ns.servers for d in DOMAINS)


def make_kmsd(ns, wd, addr, port, target, publish=True, verify="no"):
    os.makedirs(wd)
    return harness.Kmsd(wd, listen=["%s:%d" % (addr, port)], extra={"dns": {
        "publish": "yes" if publish else "no", "domains": ", ".join(DOMAINS), "target": target,
        "server": ns.server, "key_file": ns.key_file, "verify": verify, "verify_timeout": "1",
        "refresh": "1h", "check": "0"}})


def handover(d, *args, timeout=120, json=False):
    return d.ctl("handover", *args, check=False, timeout=timeout, json=json)


def main():
    in_netns()
    tmp = tempfile.mkdtemp(prefix="kms-handover.")
    kmsds = []
    try:
        with Named(secondaries=2) as ns:
            port = harness.free_port()
            res = ["--resolver", ns.server, "--probe-timeout", "1"]
            old = make_kmsd(ns, os.path.join(tmp, "kms1"), "127.0.0.11", port, "kms1.kms.test",
                            verify="yes")
            new = make_kmsd(ns, os.path.join(tmp, "kms2"), "127.0.0.12", port, "kms2.kms.test")
            kmsds += [old, new]
            for d in kmsds:
                d.start()
            old.ctl("ipk", EXAMPLE_KEY)
            old.ctl("ato")
            both = [(port, "kms1.kms.test."), (port, "kms2.kms.test.")]
            check(harness.wait_until(lambda: served(ns, both), timeout=15),
                  "both hosts published and served by all three servers",
                  {a: targets(ns, a) for a in ns.servers})
            st = json.loads(old.ctl("status", json=True).stdout)
            check(st["dns"]["record"] == {"target": "kms1.kms.test", "port": port, "ttl": 3600,
                                          "server": ns.server},
                  "status names the published record", st["dns"])

            # --dry-run: the plan, nothing changed; options after HOST
            r = handover(old, *res, "KMS2.Kms.Test.:%d" % port, "--dry-run")
            check(r.returncode == 0, "dry run exits 0", r)
            for n, name in enumerate(("new-host", "new-record", "withdraw", "discovery", "drain")):
                check("step %d/5 %s plan: would " % (n + 1, name) in r.stdout,
                      "dry run plans step %d" % (n + 1), r)
            check("windows pool (Windows 10 client) >= 25" in r.stdout
                  and "the record's TTL is 3600 s" in r.stdout
                  and "in kms.test, corp.test (dry run: nothing is changed)" in r.stdout,
                  "the plan names the check, the TTL and the domains", r)
            check(served(ns, both), "dry run changed nothing")
            for bad in ("kms2", "127.0.0.12"):
                r = handover(old, "--dry-run", bad)
                check(r.returncode == 2 and "fully qualified DNS name" in r.stderr,
                      "HOST %s refused" % bad, r)

            # to a host where nothing listens: stops at step 1, nothing changed
            dead = harness.free_port("127.0.0.13")
            r = handover(old, *res, "kms3.kms.test:%d" % dead)
            check(r.returncode == 1, "handover to a dead host exits 1", r)
            check("step 1/5 new-host FAILED: kms3.kms.test:%d: connection refused at "
                  "127.0.0.13:%d" % (dead, dead) in r.stdout, "the dead host's line", r)
            check("step 2/5" not in r.stdout and "stopped at step 1" in r.stdout
                  and "nothing was changed, this host is as it was" in r.stdout,
                  "stops at step 1 and says nothing changed", r)
            check("dns publishing=yes" in old.ctl("status").stdout, "kms1 still publishes")
            check(served(ns, both), "kms1 still served")

            # to this host under another name: kms1's address, another name
            r = handover(old, *res, "kms1-alias.kms.test:%d" % port)
            check(r.returncode == 1 and "where this host's kmsd listens" in r.stdout,
                  "a handover to this host under another name stops at step 1", r)

            # the new host serves no product yet: its refusal named
            r = handover(old, *res, "kms2.kms.test:%d" % port)
            check(r.returncode == 1 and "step 1/5 new-host FAILED" in r.stdout
                  and "refused the activation check for the windows pool (Windows 10 client) "
                  "with 0xC004F042" in r.stdout and "kmsctl ipk" in r.stdout,
                  "a new host without a product stops it", r)
            new.ctl("ipk", EXAMPLE_KEY)
            new.ctl("ato")

            # a new host that answers but is in no name server: stops at step 2
            third = make_kmsd(ns, os.path.join(tmp, "kms3"), "127.0.0.13", port,
                              "kms3.kms.test", publish=False)
            kmsds.append(third)
            third.start()
            third.ctl("ipk", EXAMPLE_KEY)
            third.ctl("ato")
            r = handover(old, "--required", "1", "--wait", "3s", *res, "kms3.kms.test:%d" % port)
            primary = ns.server.replace(":", "#")
            for d in DOMAINS:
                check("step 2/5 new-record FAILED: %s: the primary %s holds no record "
                      "_vlmcs._tcp.%s. SRV * * %d kms3.kms.test." % (d, primary, d, port)
                      in r.stdout, "step 2 names what %s lacks" % d, r)
            check(r.returncode == 1 and "step 1/5 new-host ok" in r.stdout
                  and "nothing was changed, this host is as it was" in r.stdout
                  and "step 3/5" not in r.stdout, "a new host DNS does not list stops at step 2",
                  r)
            check(third.stop() == 0, "kms3 stops cleanly")
            kmsds.remove(third)
            check("dns publishing=yes" in old.ctl("status").stdout, "kms1 still publishes")
            check(served(ns, both), "kms1 still served")

            # the new host's count is below 25 (--json)
            r = handover(old, *res, "kms2.kms.test:%d" % port, json=True)
            doc = json.loads(r.stdout)
            check(r.returncode == 1 and doc["ok"] is False and doc["stopped_at"] == 1
                  and doc["changed"] is False and doc["steps"][0]["result"] == "failed"
                  and "is 1, below 25 (0xC004F038" in doc["steps"][0]["message"]
                  and "or --force" in doc["steps"][0]["message"],
                  "a new host below the threshold stops the handover", doc)
            check(served(ns, both), "still unchanged")

            # 20 more clients on kms2 (21: --force goes on), ns3 held back: the
            # handover waits for it
            rc, kv, out = kms_client("127.0.0.12", port, "--kms-id", WIN10_KMS_ID, "--repeat", "20")
            check(rc == 0, "20 activations on kms2", out)
            ns.hold(2)
            released = {}

            def release_later():
                time.sleep(3)
                released["t"] = time.monotonic()
                ns.release(2)

            t0 = time.monotonic()
            th = threading.Thread(target=release_later)
            th.start()
            r = handover(old, "--wait", "60s", "--drain", "2s", "--force", *res,
                         "kms2.kms.test:%d" % port)
            th.join()
            print(r.stdout, end="")
            check(r.returncode == 0, "handover with ns3 lagging completes", r)
            lines = r.stdout.splitlines()

            def line(prefix):
                got = [x for x in lines if x.startswith(prefix)]
                check(len(got) == 1, "one line starting %r" % prefix, r)
                return got[0]

            check(lines[0] == "handover kms1.kms.test:%d -> kms2.kms.test:%d in kms.test, "
                  "corp.test" % (port, port), "the first line names both hosts and the domains",
                  r)
            check(line("step 1/5 new-host ok: kms2.kms.test:%d at 127.0.0.12:%d: its count in the "
                       "windows pool (Windows 10 client) is 21, below 25 (0xC004F038"
                       % (port, port)).endswith("going on (--force): keep this host's drain "
                                                "long enough"),
                  "step 1: kms2's count 21 (20 + this check) below 25, --force goes on", r)
            for d in DOMAINS:
                check(line("step 2/5 new-record ok: %s: served at the primary" % d).endswith(
                    "verified on 3 name servers"), "step 2 " + d, r)
                check(line("step 3/5 withdraw ok: %s: gone from the primary" % d).endswith(
                    "verified on 3 name servers"), "step 3 " + d, r)
                check(line("step 4/5 discovery ok: %s: " % d).endswith(
                    "a client finds the new host first (1 host listed), this host not at all"),
                    "step 4 " + d, r)
            check("removed, but name server ns3.kms.test. does not serve the new state" in
                  line("step 3/5 withdraw ok: cdns: publishing off; kmsd's own check says: "),
                  "kmsd's own verification gave up on ns3 after 1 s: the handover goes on", r)
            m = re.match(r"step 3/5 withdraw ok: this host's record is gone from every name "
                         r"server, ([0-9.]+) s after the start$",
                         line("step 3/5 withdraw ok: this host's record"))
            check(m and t0 + float(m.group(1)) + 0.1 >= released["t"],
                  "the old record left every server only after ns3 was released", r)
            check(line("step 5/5 drain ok: kept answering for 2s (").endswith(
                "then decommissioned"), "step 5", r)
            check(lines[-1].startswith("handover to kms2.kms.test:%d done in " % port), "done", r)
            check(served(ns, [(port, "kms2.kms.test.")]), "only kms2 served, both zones")
            for a in ns.servers:
                rc, data, err = locate("%s:%d" % (a, ns.port), "--lookup-domain", "kms.test",
                                       "--no-cache")
                hosts = [h["target"] for h in data["hosts"]] if data else err
                check(hosts == ["kms2.kms.test"], "kms-locate at %s finds kms2 only" % a, hosts)
            check("decommissioned yes" in old.ctl("status").stdout, "kms1 decommissioned")

            # the way back, nothing held: measured beside the transfers
            old.ctl("recommission")
            check(harness.wait_until(lambda: served(ns, both), timeout=15),
                  "kms1 back on every server")
            rc, kv, out = kms_client("127.0.0.11", port, "--kms-id", WIN10_KMS_ID, "--repeat", "25")
            logs_before = {k: len(secondary_log(ns, k)) for k in (1, 2)}
            t0 = time.monotonic()
            seen = {}
            poller = threading.Thread(target=lambda: seen.update(dig_poll(
                ns, lambda rr: all(x[3] != "kms2.kms.test." for x in rr), ns.servers, t0,
                timeout=30)))
            poller.start()
            r = handover(new, "--drain", "1s", *res, "kms1.kms.test:%d" % port, json=True)
            poller.join()
            check(r.returncode == 0, "handover back to kms1", r)
            doc = json.loads(r.stdout)
            check(doc["ok"] and doc["stopped_at"] is None and doc["changed"]
                  and [s["name"] for s in doc["steps"] if s["ok"]]
                  == ["new-host"] + ["new-record"] * 2 + ["withdraw"] * 3 + ["discovery"] * 2
                  + ["drain"],
                  "JSON: every step ok", doc)
            check(doc["steps"][0]["message"].endswith("its count in the windows pool "
                                                      "%s is 26, meets 25" % WIN10_KMS_ID),
                  "step 1 of the way back: kms1's 26 in the pool kms2's clients used, 25 "
                  "their threshold (capacity 50 / 2)", doc["steps"][0])
            xfer = [t for k in (1, 2)
                    for t in notify_to_transfer(secondary_log(ns, k)[logs_before[k]:])]
            print("handover kms2 -> kms1: old record gone from every server %.3f s after the "
                  "start (whole handover %.3f s, drain 1 s)"
                  % (doc["withdrawn_ms"] / 1000.0, doc["elapsed_ms"] / 1000.0))
            print("  same run, dig: record gone at %s"
                  % ", ".join("%s %.3f s" % (a, v) for a, v in sorted(seen.items())
                              if v is not None))
            print("  secondaries' NOTIFY -> transfer end: %s"
                  % ", ".join("%.3f s" % t for t in xfer))
            check(all(v is not None for v in seen.values()), "dig saw it leave every server",
                  seen)
            for d in kmsds:
                check(d.stop() == 0, "kmsd stops cleanly")
    finally:
        for d in kmsds:
            if d.alive():
                d.kill9()
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
