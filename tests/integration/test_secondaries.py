# SPDX-License-Identifier: MIT
"""A zone with more than one name server, as every real zone has: the
primary on 127.0.0.1 and two secondaries, ns2.kms.test (127.0.0.2) and
ns3.kms.test (127.0.0.3), that transfer kms.test and corp.test from it
(NOTIFY at once, then IXFR); all of it in a private network namespace of
the test's own (harness.in_netns()), the only place where 127.0.0.2 and
127.0.0.3 may be added to lo.

- start-named --secondaries refuses to run in the machine's own network
  namespace (exit 2, one line saying to use unshare -n), touching nothing;
- the world: every server serves the same serial and NS set, with glue;
- kms-publish --verify: served by all three servers, "verified on 3 name
  servers"; the secondaries got the change by IXFR; the time from the
  update's answer to each secondary serving it is measured (dig polling);
- one secondary held back: --verify --verify-timeout 3 fails at its bound
  (exit 1) naming ns3.kms.test; kms-locate asked at ns3 does not see the
  new host (at ns2 it does); released, ns3 catches up (measured), the same
  --verify succeeds and kms-locate at ns3 sees the host;
- held while a --verify waits (bound 15 s) and released midway: the
  verify waits for ns3 and succeeds;
- kmsd with [dns] verify: sdns with ns3 held back answers by its bound
  naming ns3; released, sdns is verified on all three;
- unpublish --verify: the record is gone from all three.
"""
import datetime
import os
import shutil
import re
import subprocess
import tempfile
import threading
import time

import harness
from harness import (NETNS_FROM, ZONES, Named, check, in_netns, kms_publish, locate, program,
                     run, skip_part)

OWNER = "_vlmcs._tcp.kms.test"


def netns_is_private():
    """This process's network namespace is not the machine's (the test's own
    oracle, written apart from start-named's check)."""
    here = os.readlink("/proc/self/ns/net")
    try:
        return here != os.readlink("/proc/1/ns/net")
    except OSError:
        pass
    pid = os.getppid()
    while pid > 1:
        try:
            if os.readlink("/proc/%d/ns/net" % pid) != here:
                return True
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def test_refused_outside_a_private_netns():
    """In the machine's own namespace start-named --secondaries exits 2 before
    it creates anything.  An `ip` stub first in PATH fails and logs every
    call, so even a broken check could not add an address to this lo."""
    if netns_is_private():
        skip_part("refusal outside a private network namespace",
                  "this test already runs in one")
        return
    with tempfile.TemporaryDirectory(prefix="kms-refuse.") as tmp:
        stub = os.path.join(tmp, "bin")
        os.mkdir(stub)
        calls = os.path.join(tmp, "ip.calls")
        with open(os.path.join(stub, "ip"), "w") as f:
            f.write("#!/bin/sh\necho \"$*\" >>%s\nexit 1\n" % calls)
        os.chmod(os.path.join(stub, "ip"), 0o755)
        world = os.path.join(tmp, "world")
        env = dict(os.environ, PATH=stub + ":" + os.environ["PATH"])
        out = run([os.path.join(ZONES, "start-named"), "--secondaries", "2", world],
                  timeout=20, env=env)
        check(out.returncode == 2, "start-named --secondaries outside a netns must exit 2", out)
        lines = out.stderr.strip().split("\n")
        check(len(lines) == 1 and "unshare -n" in lines[0], "one line naming unshare -n", out)
        check(not os.path.exists(calls), "ip was never run")
        check(not os.path.exists(world), "no world directory created")


def dig_poll(ns, pred, servers, t0, timeout=5.0):
    """Ask each server with dig, each from a thread of its own, again and
    again (5 ms apart) until pred(its SRV records at OWNER) holds;
    {server: seconds from t0 to the answer that held, or None}.  Resolution:
    one dig run (tens of ms on a busy machine)."""
    got = {a: None for a in servers}
    end = t0 + timeout

    def poll(a):
        while time.monotonic() < end:
            if pred(ns.srv(OWNER, server=a)):
                got[a] = time.monotonic() - t0
                return
            time.sleep(0.005)

    threads = [threading.Thread(target=poll, args=(a,)) for a in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def secondary_log(ns, k):
    with open(os.path.join(ns.dir, "ns%d" % (k + 1), "named.log"), errors="replace") as f:
        return f.read()


def notify_to_transfer(log):
    """From a secondary's named.log: seconds from each NOTIFY for kms.test
    it took to the end of the transfer that followed (named's clock, ms)."""
    def stamp(line):
        t = datetime.datetime.strptime(" ".join(line.split()[:2]), "%d-%b-%Y %H:%M:%S.%f")
        return t.timestamp()
    out, notified = [], None
    for line in log.split("\n"):
        if "received notify for zone 'kms.test'" in line:
            notified = notified or stamp(line)
        elif "transfer of 'kms.test/IN'" in line and "Transfer completed" in line and notified:
            out.append(stamp(line) - notified)
            notified = None
    return out


def ms(t):
    return "never" if t is None else "%.0f ms" % (t * 1000)


def targets(rc_r_err):
    code, r, err = rc_r_err
    check(code == 0 and r is not None, "kms-locate: exit %d %s" % (code, err))
    return sorted(h["target"] for h in r["hosts"])


def gone(pid):
    """The process has exited (a zombie not reaped yet counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True


def main():
    if not os.environ.get(NETNS_FROM):
        # in the namespace ctest runs us in, before in_netns() re-executes
        # this file in a private one
        test_refused_outside_a_private_netns()
    in_netns()
    with Named(secondaries=2) as ns:
        check(ns.secondaries == ["127.0.0.2", "127.0.0.3"], ns.secondaries)
        check(ns.secondary_names == ["ns2.kms.test", "ns3.kms.test"], ns.secondary_names)
        ns2, ns3 = ns.secondaries
        S = ["--server", ns.server, "--key", ns.key_file]
        at = {a: "%s:%d" % (a, ns.port) for a in ns.servers}

        # 1. the world: one serial, one NS set (glue in kms.test) everywhere
        for a in ns.servers:
            nsset = sorted(l.split()[4] for l in ns.dig("kms.test", "NS", server=a))
            check(nsset == ["ns1.kms.test.", "ns2.kms.test.", "ns3.kms.test."],
                  "NS set at %s: %r" % (a, nsset))
            check(ns.serial(server=a) == ns.serial(), "serial at " + a)
            check(ns.serial("corp.test", server=a) == ns.serial("corp.test"),
                  "corp.test at " + a)
        glue = [l.split()[4] for l in ns.dig("ns3.kms.test", "A")]
        check(glue == [ns3], "ns3.kms.test A %r" % glue)

        # 2. publish --verify: every server serves it, by IXFR
        mark = ns.log_mark()
        out = kms_publish("publish", *S, "--domain", "kms.test", "--target", "kms1.kms.test",
                          "--verify")
        check(out.returncode == 0 and out.stderr == "", "publish --verify", out)
        check("verified on 3 name servers" in out.stdout, "verified on all 3", out)
        for a in ns.servers:
            check([r[3] for r in ns.srv(OWNER, server=a)] == ["kms1.kms.test."],
                  "kms1 served at " + a)
        for a in ns.secondaries:
            check(re.search(r"%s#\d+ \(kms\.test\): transfer of 'kms\.test/IN': IXFR started"
                            % re.escape(a), ns.log()[mark:]), "IXFR to " + a)

        # NOTIFY -> served, measured: from kms-publish's return (the update
        # answered; named sends its NOTIFYs as it answers, notify-delay 0) to
        # each secondary serving the new weight
        rounds = []
        marks = [len(secondary_log(ns, k)) for k in (1, 2)]
        for w in range(1, 6):
            out = kms_publish("publish", *S, "--domain", "kms.test %d %d" % (0, w),
                              "--target", "kms1.kms.test")
            t0 = time.monotonic()
            check(out.returncode == 0, "publish weight %d" % w, out)
            got = dig_poll(ns, lambda recs, w=w: [r[1] for r in recs] == [w], ns.secondaries, t0)
            check(None not in got.values(), "weight %d reached every secondary: %r" % (w, got))
            rounds.append(got)
        for a, name in zip(ns.secondaries, ns.secondary_names):
            t = sorted(g[a] for g in rounds)
            print("update answered -> served at %s (%s), dig polling, %d rounds: "
                  "min %s, median %s, max %s" % (name, a, len(t), ms(t[0]), ms(t[len(t) // 2]),
                                                  ms(t[-1])), flush=True)
        for k, name in ((1, ns.secondary_names[0]), (2, ns.secondary_names[1])):
            t = sorted(notify_to_transfer(secondary_log(ns, k)[marks[k - 1]:]))
            check(len(t) == 5, "%s: 5 NOTIFYs, each followed by a transfer: %r" % (name, t))
            print("NOTIFY received -> transfer completed at %s (its named.log): "
                  "min %s, median %s, max %s" % (name, ms(t[0]), ms(t[2]), ms(t[-1])), flush=True)

        # 3. ns3 held back: verify fails at its bound, naming ns3
        print(ns.hold(2), flush=True)
        t0 = time.monotonic()
        out = kms_publish("publish", *S, "--domain", "kms.test", "--target", "kms2.kms.test",
                          "--verify", "--verify-timeout", 3)
        took = time.monotonic() - t0
        check(out.returncode == 1, "--verify with ns3 held back must exit 1", out)
        check(re.search(r"^kms\.test: error: updated, but name server ns3\.kms\.test\. does not "
                        r"serve the new state of _vlmcs\._tcp\.kms\.test\. after 3 s$",
                        out.stdout, re.M), "the result line names ns3", out)
        check("ns2.kms.test" not in out.stdout + out.stderr, "ns2 is not blamed", out)
        check(2.9 <= took < 4.5, "--verify-timeout 3 took %.2f s" % took, out)
        print("held: --verify-timeout 3 gave up after %.2f s" % took, flush=True)
        check("kms2.kms.test." in [r[3] for r in ns.srv(OWNER)], "published on the primary")
        check("kms2.kms.test." in [r[3] for r in ns.srv(OWNER, server=ns2)], "ns2 has it")
        check("kms2.kms.test." not in [r[3] for r in ns.srv(OWNER, server=ns3)],
              "held ns3 still serves the old state")
        # discovery asked at each server
        L = ["--lookup-domain", "kms.test", "--no-cache"]
        check(targets(locate(at[ns2], *L)) == ["kms1.kms.test", "kms2.kms.test"],
              "kms-locate at ns2 sees kms2")
        check(targets(locate(at[ns3], *L)) == ["kms1.kms.test"],
              "kms-locate at held ns3 does not see kms2")

        # 4. released: ns3 catches up (measured); verify and kms-locate agree
        t0 = time.monotonic()
        print(ns.release(ns3), flush=True)
        took = time.monotonic() - t0
        got = dig_poll(ns, lambda recs: "kms2.kms.test." in [r[3] for r in recs], [ns3], t0)
        check(got[ns3] is not None, "ns3 caught up after release")
        print("release-secondary took %s (reload, NOTIFY answered); served at ns3.kms.test "
              "%s after it began (dig polling)" % (ms(took), ms(got[ns3])), flush=True)
        out = kms_publish("publish", *S, "--domain", "kms.test", "--target", "kms2.kms.test",
                          "--verify", "--verify-timeout", 3)
        check(out.returncode == 0 and "verified on 3 name servers" in out.stdout,
              "--verify once ns3 caught up", out)
        check(targets(locate(at[ns3], *L)) == ["kms1.kms.test", "kms2.kms.test"],
              "kms-locate at ns3 sees kms2 after the transfer")

        # 5. held while a --verify waits, released midway: the verify waits
        #    for ns3, then succeeds
        ns.hold(2)
        t0 = time.monotonic()
        proc = subprocess.Popen([program("kms-publish"), "publish", *S, "--domain", "kms.test",
                                 "--target", "kms3.kms.test", "--verify", "--verify-timeout",
                                 "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            time.sleep(1.5)
            check(proc.poll() is None, "--verify must still wait while ns3 is held")
            ns.release(2)
            stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        took = time.monotonic() - t0
        check(proc.returncode == 0 and "verified on 3 name servers" in stdout,
              "verify waited for the release: rc %s %s %s" % (proc.returncode, stdout, stderr))
        # (its rounds are spaced 0.25, 0.5, 1, 2, 4 s ... +-25%: it sees ns3
        # at the first round after the transfer, not at once)
        check(took >= 1.5, "verify ended %.2f s after it began (released at 1.5 s)" % took)
        print("held during --verify, released at 1.5 s: verified after %.2f s" % took, flush=True)

        # 6. corp.test is replicated too; unpublish --verify: gone everywhere
        out = kms_publish("publish", *S, "--domain", "corp.test", "--target", "kms1.kms.test",
                          "--verify", "--verify-timeout", 5)
        check(out.returncode == 0 and "verified on 3 name servers" in out.stdout,
              "corp.test --verify", out)
        for target in ("kms1.kms.test", "kms2.kms.test", "kms3.kms.test"):
            out = kms_publish("unpublish", *S, "--domain", "kms.test", "--target", target,
                              "--verify", "--verify-timeout", 5)
            check(out.returncode == 0 and "verified on 3 name servers" in out.stdout,
                  "unpublish %s --verify" % target, out)
        for a in ns.servers:
            check(ns.srv(OWNER, server=a) == [], "no record left at " + a)

        # 6b. kmsd with [dns] verify: its verb answers once every server serves
        #     the record, and names the one held back
        wd = tempfile.mkdtemp(prefix="kmsd-sec.")
        port = harness.free_port()
        d = harness.Kmsd(wd, listen=["127.0.0.1:%d" % port], extra={"dns": {
            "publish": "no", "domains": "kms.test", "target": "kms2.kms.test",
            "server": ns.server, "key_file": ns.key_file, "verify": "yes",
            "verify_timeout": "3", "refresh": "1h", "check": "0"}})
        try:
            d.start()
            ns.hold(2)
            r = d.ctl("sdns", check=False, timeout=30)
            check("dns kms.test error updated, but name server ns3.kms.test. does not serve the "
                  "new state of _vlmcs._tcp.kms.test. after 3 s" in r.stdout + r.stderr,
                  "kmsd sdns held back by ns3", r)
            ns.release(2)
            r = d.ctl("sdns", check=False, timeout=30)
            check("dns kms.test ok" in r.stdout and "verified on 3 name servers" in r.stdout,
                  "kmsd sdns verified on all three once ns3 caught up", r)
            for a in ns.servers:
                check(any(x[3] == "kms2.kms.test." for x in ns.srv(OWNER, server=a)),
                      "kmsd's record at " + a)
            check(d.stop() == 0, "kmsd stops cleanly")
        finally:
            if d.alive():
                d.kill9()
            shutil.rmtree(wd, ignore_errors=True)

        # 7. stop-named stops exactly what start-named started
        pids = [ns.pid] + ns.secondary_pids
        ns.stop()
        for pid in pids:
            check(gone(pid), "pid %d stopped" % pid)
    print("ok")


if __name__ == "__main__":
    main()
