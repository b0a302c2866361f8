# SPDX-License-Identifier: MIT
"""kms-publish sweep: withdraw the records of KMS hosts that are gone.

A real named and, in a private network namespace of the test's own
(harness.in_netns(): the zone's hosts live at 127.0.0.11.., which plain
loopback routing lets kmsd bind there without adding anything to lo), two
live kmsd - kms1 (127.0.0.11) and kms2 (127.0.0.12) - and a dead kms3
(127.0.0.13: nothing listens, connections get RST).  Records for all three
are published in kms.test with kms-publish --key --port P.

- bad usage exits 2 (unknown option value, --apply without a key, --target
  with sweep, a sweep option with publish, a corrupt state file);
- a dry run lists kms1 and kms2 alive and kms3 dead (1 of 3 failures) and
  changes nothing in DNS;
- --apply --failures 2 before --min-age: kms3 kept ("dead for 0s of 1h");
- --apply --failures 2 --min-age 1s a little later: exactly kms3's RR is
  withdrawn (a class-NONE delete of one RR, named's log says so); kms1's and
  kms2's are intact, and the state file forgets kms3;
- corp.test, whose only host is kms3: nothing withdrawn ("every host of the
  name looks dead"), until --allow-empty;
- --json: the documented object;
- a domain that cannot be read: its error line, the other domain swept,
  exit 1;
- measured: a sweep of 1000 records over 100 domains, half of them dead
  (RST), and one of 90 silent hosts (connection accepted, the bind never
  answered: bounded by --timeout, 64 at a time); wall times printed.
"""
import json
import os
import shutil
import socket
import tempfile
import time

import harness
from harness import Kmsd, Named, check, free_port, in_netns, kms_publish

OWNER = "_vlmcs._tcp.kms.test"


def line_of(out, target):
    for line in out.stdout.splitlines():
        if (" %s:" % target) in line:
            return line
    return ""


def main():
    in_netns()
    tmp = tempfile.mkdtemp(prefix="kms-sweep.")
    daemons = []
    try:
        with Named(bench_domains=100) as ns:
            p1, p2, p3 = free_port("127.0.0.11"), free_port("127.0.0.11"), free_port("127.0.0.11")
            for sub in ("k1", "k2"):
                os.makedirs(os.path.join(tmp, sub))
            k1 = Kmsd(os.path.join(tmp, "k1"), listen=["127.0.0.11:%d" % p for p in (p1, p2, p3)])
            k2 = Kmsd(os.path.join(tmp, "k2"), listen=["127.0.0.12:%d" % p for p in (p1, p2)])
            for k in (k1, k2):
                k.start()
                daemons.append(k)
            S = ["--server", ns.server, "--key", ns.key_file]
            for host in ("kms1", "kms2", "kms3"):
                out = kms_publish("publish", *S, "--domain", "kms.test", "--target",
                                  host + ".kms.test", "--port", p1)
                check(out.returncode == 0, "publish " + host, out)
            out = kms_publish("publish", *S, "--domain", "corp.test", "--target", "kms3.kms.test",
                              "--port", p1)
            check(out.returncode == 0, "publish kms3 in corp.test", out)
            all3 = ns.srv(OWNER)
            check(len(all3) == 3, all3)
            state = os.path.join(tmp, "sweep.state")
            W = S + ["--state", state, "--timeout", "1"]

            # bad usage: 2, one line, nothing changed
            for args in (["sweep", *W, "--domain", "kms.test", "--failures", "0"],
                         ["sweep", *W, "--domain", "kms.test", "--min-age", "soon"],
                         ["sweep", "--server", ns.server, "--domain", "kms.test", "--apply"],
                         ["sweep", *W, "--domain", "kms.test", "--target", "kms1.kms.test"],
                         ["sweep", *W],
                         ["publish", *S, "--domain", "kms.test", "--apply"]):
                out = kms_publish(*args)
                check(out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1,
                      "bad usage %r -> 2" % (args,), out)
            check(not os.path.exists(state), "no state file written by a refused sweep")
            check(ns.srv(OWNER) == all3, "nothing changed")

            # 1. dry run
            out = kms_publish("sweep", *W, "--domain", "kms.test")
            print(out.stdout, end="")
            check(out.returncode == 0, "dry run", out)
            l3 = line_of(out, "kms3.kms.test")
            check(l3.startswith("kms.test kms3.kms.test:%d dead since=" % p1)
                  and "failures=1: kept (1 of 3 failures)" in l3, "kms3 dead, kept", out)
            for host in ("kms1", "kms2"):
                check(": kept (alive)" in line_of(out, host + ".kms.test")
                      and " alive since=- failures=0" in line_of(out, host + ".kms.test"),
                      host + " alive", out)
            check("dry run" in out.stdout, "says it is a dry run", out)
            check(ns.srv(OWNER) == all3, "dry run withdrew nothing")
            with open(state) as f:
                text = f.read()
            check(text.startswith("kmsdns-sweep 1\nrecord _vlmcs._tcp.kms.test. kms3.kms.test. %d "
                                  % p1) and text.endswith(" 1\nend 1\n"), text)

            # 2. --apply before --min-age
            out = kms_publish("sweep", *W, "--domain", "kms.test", "--apply", "--failures", "2")
            print(out.stdout, end="")
            check(out.returncode == 0, "apply before min-age", out)
            check("failures=2: kept (dead for 0s of 1h)" in line_of(out, "kms3.kms.test")
                  or "failures=2: kept (dead for 1s of 1h)" in line_of(out, "kms3.kms.test"),
                  "kept: too young", out)
            check(ns.srv(OWNER) == all3, "nothing withdrawn before --min-age")

            # 3. --apply after --min-age: exactly kms3's RR goes
            time.sleep(1.2)
            mark = ns.log_mark()
            out = kms_publish("sweep", *W, "--domain", "kms.test", "--apply", "--failures", "2",
                              "--min-age", "1s")
            print(out.stdout, end="")
            check(out.returncode == 0, "apply", out)
            check(line_of(out, "kms3.kms.test").endswith(": withdrawn")
                  or ": withdrawn" in line_of(out, "kms3.kms.test"), "kms3 withdrawn", out)
            left = ns.srv(OWNER)
            check(left == [r for r in all3 if r[3] != "kms3.kms.test."] and len(left) == 2,
                  "only kms3 withdrawn: %r" % left)
            dels = [l for l in ns.update_lines(mark) if "deleting" in l]
            check(len(dels) == 1 and "deleting an RR at _vlmcs._tcp.kms.test SRV" in dels[0],
                  "one RR deleted (class NONE), not the RRset: %r" % dels)
            with open(state) as f:
                check("kms3" not in f.read(), "state forgets the withdrawn record")

            # 4. a name whose only host is dead
            C = W + ["--domain", "corp.test", "--apply", "--failures", "1", "--min-age", "0"]
            out = kms_publish("sweep", *C)
            print(out.stdout, end="")
            check(out.returncode == 0 and "every host of the name looks dead (--allow-empty)"
                  in out.stdout, "all dead: kept", out)
            check(len(ns.srv("_vlmcs._tcp.corp.test")) == 1, "corp.test record kept")
            out = kms_publish("sweep", *C, "--allow-empty", "--json")
            check(out.returncode == 0, "--allow-empty", out)
            j = json.loads(out.stdout)
            check(j["operation"] == "sweep" and j["ok"] is True and j["dry_run"] is False, j)
            r = j["records"][0]
            check(set(r) >= {"domain", "owner", "target", "port", "verdict", "since", "failures",
                             "action", "why"}, r)
            check(r["domain"] == "corp.test" and r["owner"] == "_vlmcs._tcp.corp.test."
                  and r["target"] == "kms3.kms.test." and r["port"] == p1
                  and r["verdict"] == "dead" and isinstance(r["since"], int)
                  and r["failures"] == 2 and r["action"] == "withdrawn" and r["why"] is None, r)
            check(ns.srv("_vlmcs._tcp.corp.test") == [], "withdrawn with --allow-empty")

            # --json of a dry run with alive records
            out = kms_publish("sweep", *W, "--domain", "kms.test", "--json")
            j = json.loads(out.stdout)
            check(out.returncode == 0 and j["dry_run"] is True and len(j["records"]) == 2
                  and all(x["verdict"] == "alive" and x["since"] is None and x["action"] == "kept"
                          and x["why"] == "alive" for x in j["records"]), out.stdout)

            # a domain that cannot be read: its error, the others swept, exit 1
            out = kms_publish("sweep", *W, "--domain", "kms.test", "--domain", "nosuch.example",
                              "--attempts", "1")
            check(out.returncode == 1 and "nosuch.example: error: " in out.stdout
                  and ": kept (alive)" in line_of(out, "kms1.kms.test")
                  and len(out.stderr.strip().splitlines()) == 1
                  and "1 of 2 domains could not be read" in out.stderr, "unreadable domain", out)

            # a corrupt state file: refused, named by line
            with open(state, "w") as f:
                f.write("kmsdns-sweep 1\nrecord x\nend 0\n")
            out = kms_publish("sweep", *W, "--domain", "kms.test")
            check(out.returncode == 2 and "%s:2:" % state in out.stderr, "corrupt state", out)

            # measured: 1000 records over 100 domains, half dead (RST)
            lines = []
            for d in range(1, 101):
                owner = "_vlmcs._tcp.d%04d.kms.test." % d
                for host, port in (("kms1", p1), ("kms1", p2), ("kms1", p3), ("kms2", p1),
                                   ("kms2", p2)):
                    lines.append("update add %s 300 IN SRV 0 0 %d %s.kms.test." % (owner, port,
                                                                                   host))
                for k in range(5):
                    lines.append("update add %s 300 IN SRV 0 0 %d kms3.kms.test." % (owner,
                                                                                     20000 + k))
            out = ns.nsupdate("\n".join(lines), zone="kms.test", tcp=True, timeout=60)
            check(out.returncode == 0, "1000 records added", out)
            doms = ",".join("d%04d.kms.test" % d for d in range(1, 101))
            t0 = time.monotonic()
            out = kms_publish("sweep", *S, "--state", os.path.join(tmp, "bench.state"),
                              "--timeout", "2", "--domain", doms, "--json", timeout=120)
            wall = time.monotonic() - t0
            check(out.returncode == 0, "big sweep", out.stderr)
            j = json.loads(out.stdout)
            n_dead = sum(1 for x in j["records"] if x["verdict"] == "dead")
            n_alive = sum(1 for x in j["records"] if x["verdict"] == "alive")
            print("measured: sweep of %d records over 100 domains (%d alive, %d dead: RST), "
                  "%d probes (at most 64 in flight): wall %.2f s (read to last verdict %d ms)"
                  % (len(j["records"]), n_alive, n_dead, j["probes"], wall, j["ms"]))
            check(len(j["records"]) == 1000 and n_dead == 500 and n_alive == 500,
                  "500 dead, 500 alive")

            # measured: silent hosts (TCP accepted by the kernel, the RPC bind never
            # answered) cost --timeout per probe, 64 at a time
            silent = []
            try:
                for k in range(90):  # named: at most 100 records per RRset
                    sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sk.bind(("127.0.0.13", 0))
                    sk.listen(8)
                    silent.append(sk)
                lines = ["update add _vlmcs._tcp.d0050.kms.test. 300 IN SRV 0 0 %d kms3.kms.test."
                         % sk.getsockname()[1] for sk in silent]
                out = ns.nsupdate("\n".join(lines), zone="kms.test", tcp=True, timeout=60)
                check(out.returncode == 0, "90 silent records added", out)
                t0 = time.monotonic()
                out = kms_publish("sweep", *S, "--state", os.path.join(tmp, "silent.state"),
                                  "--timeout", "1", "--domain", "d0050.kms.test", "--json",
                                  timeout=120)
                wall = time.monotonic() - t0
                check(out.returncode == 0, "silent sweep", out.stderr)
                j = json.loads(out.stdout)
                quiet = [x for x in j["records"] if x["port"] in
                         {sk.getsockname()[1] for sk in silent}]
                check(len(quiet) == 90 and all(x["verdict"] == "dead" for x in quiet), quiet[:2])
                print("measured: sweep of %d records, 90 of them silent (connect accepted, bind "
                      "never answered), --timeout 1, 64 probes in flight: wall %.2f s (bound: "
                      "2 rounds of 64 x 1 s + reading)" % (len(j["records"]), wall))
                check(wall < 2 * 1 + 5, "bounded by --timeout: %.2f s" % wall)
            finally:
                for sk in silent:
                    sk.close()
    finally:
        for k in daemons:
            k.stop()
        if not os.environ.get("KMSDNS_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
