# SPDX-License-Identifier: MIT
"""kmsctl handover: the migration of the seed, step by step, against a zone
with three name servers (the primary and two secondaries, ns2 and ns3) and
two kmsd on their own loopback addresses, kms1.kms.test (127.0.0.11, the
old host) and kms2.kms.test (127.0.0.12, the new one), in a private network
namespace of the test's own (harness.in_netns()).

- --dry-run prints the plan (the five steps with what each checks) and
  changes nothing;
- a handover to a host where nothing listens stops at step 1, exit 1,
  "nothing was changed": kms1 still publishes and every server serves it;
- a handover to kms2 before it serves a product stops at step 1 with its
  0xC004F042 and "kmsctl ipk"; while its count is below 25, with the count
  and the threshold;
- a handover to kms3, which answers (--required 1) but is in no name
  server, stops at step 2 ("the primary ... holds no record"), nothing
  changed;
- kms2 brought to 25 clients; ns3 held back (its transfers blocked): the
  handover (--json) waits at step 3 for ns3, which is released 3 s in, then
  completes: kms1's record gone from all three servers, kms2's intact, kms1
  decommissioned, kms-locate at every server finds kms2 only;
- the way back (kms1 recommissioned, kms2 hands over to it, nothing held):
  the time from start to "old record gone from every server" printed
  beside the NOTIFY-to-transfer-end times the secondaries logged and the
  time dig saw each server stop serving the record.
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

OWNER = "_vlmcs._tcp.kms.test"
WIN10_KMS_ID = "58e2134f-8e11-4d17-9cb2-91069c151148"  # the pool the activation check counts in


def targets(ns, server):
    return sorted((x[2], x[3]) for x in ns.srv(OWNER, server=server))


def make_kmsd(ns, wd, addr, port, target, publish=True):
    os.makedirs(wd)
    return harness.Kmsd(wd, listen=["%s:%d" % (addr, port)], extra={"dns": {
        "publish": "yes" if publish else "no", "domains": "kms.test", "target": target,
        "server": ns.server, "key_file": ns.key_file, "verify": "yes", "verify_timeout": "10",
        "refresh": "1h", "check": "0"}})


def handover(d, *args, timeout=120):
    return d.ctl("handover", *args, check=False, timeout=timeout)


def main():
    in_netns()
    tmp = tempfile.mkdtemp(prefix="kms-handover.")
    kmsds = []
    try:
        with Named(secondaries=2) as ns:
            port = harness.free_port()
            res = ["--resolver", ns.server, "--probe-timeout", "1"]
            old = make_kmsd(ns, os.path.join(tmp, "kms1"), "127.0.0.11", port, "kms1.kms.test")
            new = make_kmsd(ns, os.path.join(tmp, "kms2"), "127.0.0.12", port, "kms2.kms.test")
            kmsds += [old, new]
            for d in kmsds:
                d.start()
            old.ctl("ipk", EXAMPLE_KEY)
            old.ctl("ato")
            both = [(port, "kms1.kms.test."), (port, "kms2.kms.test.")]
            check(harness.wait_until(lambda: all(targets(ns, a) == both for a in ns.servers),
                                     timeout=15),
                  "both hosts published and served by all three servers",
                  {a: targets(ns, a) for a in ns.servers})
            st = json.loads(old.ctl("status", json=True).stdout)
            check(st["dns"]["record"] == {"target": "kms1.kms.test", "port": port, "ttl": 3600,
                                          "server": ns.server},
                  "status names the published record", st["dns"])

            # --dry-run: the plan, nothing changed
            r = handover(old, "--dry-run", *res, "kms2.kms.test:%d" % port)
            check(r.returncode == 0, "dry run exits 0", r)
            for n, name in enumerate(("new-host", "new-record", "withdraw", "discovery", "drain")):
                check("step %d/5 %s ok: would " % (n + 1, name) in r.stdout,
                      "dry run plans step %d" % (n + 1), r)
            check("(dry run: nothing is changed)" in r.stdout, "dry run says so", r)
            check(all(targets(ns, a) == both for a in ns.servers), "dry run changed nothing")

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
            check(all(targets(ns, a) == both for a in ns.servers), "kms1 still served")

            # the new host serves no product yet: its refusal named
            r = handover(old, *res, "kms2.kms.test:%d" % port)
            check(r.returncode == 1 and "step 1/5 new-host FAILED" in r.stdout
                  and "refused the activation check with 0xC004F042" in r.stdout
                  and "kmsctl ipk" in r.stdout, "a new host without a product stops it", r)
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
            check(r.returncode == 1 and "step 1/5 new-host ok" in r.stdout
                  and "step 2/5 new-record FAILED: kms.test: the primary %s holds no record "
                  "_vlmcs._tcp.kms.test. SRV * * %d kms3.kms.test." % (ns.server.replace(":", "#"),
                                                                      port) in r.stdout
                  and "nothing was changed, this host is as it was" in r.stdout
                  and "step 3/5" not in r.stdout, "a new host DNS does not list stops at step 2",
                  r)
            check(third.stop() == 0, "kms3 stops cleanly")
            kmsds.remove(third)
            check("dns publishing=yes" in old.ctl("status").stdout, "kms1 still publishes")
            check(all(targets(ns, a) == both for a in ns.servers), "kms1 still served")

            # the new host's count is below 25
            r = handover(old, *res, "kms2.kms.test:%d" % port)
            check(r.returncode == 1 and "step 1/5 new-host FAILED" in r.stdout
                  and "is below 25 (0xC004F038" in r.stdout and "or --force" in r.stdout,
                  "a new host below the threshold stops the handover", r)
            check(all(targets(ns, a) == both for a in ns.servers), "still unchanged")

            # 25 clients on kms2, ns3 held back: the handover waits for it
            rc, kv, out = kms_client("127.0.0.12", port, "--kms-id", WIN10_KMS_ID, "--repeat", "25")
            check(rc == 0, "25 activations on kms2", out)
            ns.hold(2)
            released = {}

            def release_later():
                time.sleep(3)
                released["t"] = time.monotonic()
                ns.release(2)

            t0 = time.monotonic()
            th = threading.Thread(target=release_later)
            th.start()
            r = handover(old, "--wait", "60s", "--drain", "2s", *res, "kms2.kms.test:%d" % port)
            th.join()
            print(r.stdout, end="")
            check(r.returncode == 0, "handover with ns3 lagging completes", r)
            lines = r.stdout.splitlines()
            check(lines[0] == "handover kms1.kms.test:%d -> kms2.kms.test:%d in kms.test"
                  % (port, port), "the first line names both hosts and the domains", r)
            check(lines[1].startswith("step 1/5 new-host ok: kms2.kms.test:%d answered at "
                                      "127.0.0.12:%d" % (port, port))
                  and lines[1].endswith("its count 26 meets 25"),
                  "step 1: kms2's count 26 (25 + this check) meets 25", r)
            check(lines[2].startswith("step 2/5 new-record ok: kms.test: served at the primary")
                  and lines[2].endswith("verified on 3 name servers"), "step 2", r)
            check(lines[3].startswith("step 3/5 withdraw ok: kms.test: gone from the primary")
                  and lines[3].endswith("verified on 3 name servers"), "step 3", r)
            m = re.match(r"step 3/5 withdraw ok: this host's record is gone from every name "
                         r"server, ([0-9.]+) s after the start$", lines[4])
            check(m and t0 + float(m.group(1)) + 0.1 >= released["t"],
                  "the old record left every server only after ns3 was released", r)
            check(lines[5] == "step 4/5 discovery ok: kms.test: a client finds the new host "
                  "first (1 host listed), this host not at all", "step 4", r)
            check(lines[7].startswith("step 5/5 drain ok: kept answering for 2s (")
                  and lines[7].endswith("then decommissioned"), "step 5", r)
            check(lines[8].startswith("handover to kms2.kms.test:%d done in " % port), "done", r)
            for a in ns.servers:
                check(targets(ns, a) == [(port, "kms2.kms.test.")],
                      "only kms2 served by %s" % a, targets(ns, a))
                rc, data, err = locate("%s:%d" % (a, ns.port), "--lookup-domain", "kms.test",
                                       "--no-cache")
                hosts = [h["target"] for h in data["hosts"]] if data else err
                check(hosts == ["kms2.kms.test"], "kms-locate at %s finds kms2 only" % a, hosts)
            check("decommissioned yes" in old.ctl("status").stdout, "kms1 decommissioned")

            # the way back, nothing held: measured beside the transfers
            old.ctl("recommission")
            check(harness.wait_until(lambda: all(targets(ns, a) == both for a in ns.servers),
                                     timeout=15), "kms1 back on every server")
            rc, kv, out = kms_client("127.0.0.11", port, "--kms-id", WIN10_KMS_ID, "--repeat", "25")
            logs_before = {k: len(secondary_log(ns, k)) for k in (1, 2)}
            t0 = time.monotonic()
            seen = {}
            poller = threading.Thread(target=lambda: seen.update(dig_poll(
                ns, lambda rr: all(x[3] != "kms2.kms.test." for x in rr), ns.servers, t0,
                timeout=30)))
            poller.start()
            r = harness.run([harness.program("kmsctl"), "--socket", new.socket_path, "--json",
                             "handover", "--drain", "1s"] + res + ["kms1.kms.test:%d" % port],
                            timeout=120)
            poller.join()
            check(r.returncode == 0, "handover back to kms1", r)
            doc = json.loads(r.stdout)
            check(doc["ok"] and doc["stopped_at"] is None and doc["changed"]
                  and [s["name"] for s in doc["steps"] if s["ok"]]
                  == ["new-host", "new-record", "withdraw", "withdraw", "discovery", "drain"],
                  "JSON: every step ok", doc)
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
