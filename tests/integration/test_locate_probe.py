# SPDX-License-Identifier: MIT
"""kms-locate --probe against a real named and real KMS RPC endpoints: a dead
target (nothing listening: a stale record) is reported 0x800706BA and
skipped, the next one answers; every host dead gives 0xC004F074; the host
cache puts the last host that answered first and forgets it when it fails;
--activation-check reports 0xC004F038 below the threshold.

The endpoint is a real kmsd (KMSDNS_KMSD, else kmsd under KMSDNS_BUILD);
when none is built the test fails, it never passes against a stand-in.  The
fixed-count activation cases use tests/tools/locate_listener, whose count is
set on its command line."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from harness import (EXAMPLE_KEY, FakeDNS, Listener, Named, NotBuilt, check, free_port, locate,
                     program, publish, run, srv_update, wait_until)

Z = "_vlmcs._tcp.kms.test."
LIVE = "127.0.0.13"  # kms3.kms.test
DEAD = "127.0.0.11"  # kms1.kms.test (and ::1)


def find_kmsd():
    """The kmsd to test against; raises when there is none (no silent fake)."""
    path = os.environ.get("KMSDNS_KMSD")
    if path:
        if not os.access(path, os.X_OK):
            raise RuntimeError("KMSDNS_KMSD=%s is not an executable" % path)
        return path
    try:
        return program("kmsd")
    except NotBuilt as e:
        raise RuntimeError("%s: this test probes a real kmsd, build it (or set KMSDNS_KMSD)"
                           % e) from None


class RealKmsd:
    """A real kmsd listening on ADDR:free port, publishing nothing."""

    def __init__(self, path, addr):
        self.path, self.addr = path, addr
        self.dir = tempfile.mkdtemp(prefix="kms-locate-kmsd.")
        self.port = free_port(addr)
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [self.path, "--listen", "%s:%d" % (self.addr, self.port), "--state-dir", self.dir,
             "--set", "dns.publish=no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("kmsd exited: " + self.proc.stderr.read())
            try:
                socket.create_connection((self.addr, self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        check(wait_until(up, timeout=10), "kmsd did not listen")
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def endpoint(addr):
    return RealKmsd(find_kmsd(), addr)


def test_stale_record_skipped(ns):
    with endpoint(LIVE) as ep:
        port = ep.port
        srv_update(ns, ["update delete %s SRV" % Z])
        publish(ns, "kms1.kms.test", port, 0, 0)   # stale: nothing listens there
        publish(ns, "kms3.kms.test", port, 10, 0)
        code, r, err = locate(ns, "--domain", "kms.test", "--no-cache", "--probe",
                              "--timeout", "2")
        check(code == 0 and r["outcome"] == "0x00000000", (code, r, err))
        h = r["hosts"]
        check(h[0]["target"] == "kms1.kms.test" and not h[0]["probe"]["answered"], h)
        check(h[0]["probe"]["outcome"] == "0x800706BA", h[0])
        check(h[1]["target"] == "kms3.kms.test" and h[1]["probe"]["answered"], h)
        check(r["answered"] == "kms3.kms.test:%d" % port, r)
        # text: the stale host shows 0x800706BA, the outcome line is OK
        code, text, _ = locate(ns, "--domain", "kms.test", "--no-cache", "--probe", "--explain",
                               json_out=False)
        check(code == 0 and "[0x800706BA]" in text and "answered" in text, text)
        # every host dead: 0xC004F074, exit 15
        publish(ns, "kms3.kms.test", port, 10, 0, verb="unpublish")
    code, r, _ = locate(ns, "--domain", "kms.test", "--no-cache", "--probe", "--timeout", "1")
    check(code == 15 and r["outcome"] == "0xC004F074", (code, r))
    check(all(x["probe"]["outcome"] == "0x800706BA" for x in r["hosts"]), r)


def test_cache(ns, tmp):
    cache = os.path.join(tmp, "state", "host-cache")
    with endpoint(LIVE) as ep:
        port = ep.port
        srv_update(ns, ["update delete %s SRV" % Z])
        publish(ns, "kms3.kms.test", port, 10, 0)
        code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache, "--probe")
        check(code == 0 and r["cache"] == "empty" and os.path.exists(cache), r)
        # a better record appears (priority 0), but the cached host is tried first
        publish(ns, "kms2.kms.test", port + 1, 0, 100)
        code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache, "--probe",
                            "--explain")
        check(code == 0 and r["cache"] == "hit", r)
        check(r["hosts"][0]["source"] == "cache" and r["hosts"][0]["target"] == "kms3.kms.test", r)
        check(r["hosts"][0]["probe"]["answered"] and "cache hit" in r["hosts"][0]["why"], r)
        # it answered: no SRV query at all (a client asks DNS only when it fails)
        check(len(r["hosts"]) == 1 and r["queries"] == 0 and r["dns_skipped"], r)
        check(r["hosts"][0]["addresses_from"] == "cache", r)
        check("no SRV lookup was made" in r["hosts"][0]["why"], r)
        # --all wants the full list: DNS is queried, the cached host stays first
        code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache, "--probe", "--all")
        check(code == 0 and r["queries"] >= 1 and not r["dns_skipped"], r)
        check(r["hosts"][0]["source"] == "cache" and len(r["hosts"]) == 2, r)
        # without --probe the list needs DNS too, the cached host first
        code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache)
        check(code == 0 and r["queries"] >= 1 and r["hosts"][0]["source"] == "cache", r)
        check(r["hosts"][1]["target"] == "kms2.kms.test", r)
        # ...and with DNS asked, its fresh addresses count, not a remembered
        # one that may be stale (the host moved)
        with open(cache) as f:
            kept = json.load(f)
        with open(cache, "w") as f:
            json.dump(dict(kept, address="127.0.0.99"), f)
        code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache)
        check(code == 0 and r["hosts"][0]["source"] == "cache", r)
        check("127.0.0.99" not in r["hosts"][0]["addresses"] and
              r["hosts"][0]["addresses_from"] != "cache", r)
        with open(cache, "w") as f:
            json.dump(kept, f)
        # DNS is dead (a server that never answers) and the cache is warm: the
        # cached host answers at once, and the DNS server sees no query
        with FakeDNS(None) as dead:
            t0 = time.monotonic()
            code, r, err = locate(dead.server, "--domain", "kms.test", "--cache-file", cache,
                                  "--probe", "--timeout", "3")
            took = time.monotonic() - t0
            check(code == 0 and r["answered"] == "kms3.kms.test:%d" % port, (code, r, err))
            check(r["queries"] == 0 and r["dns_skipped"] and dead.queries == 0, (r, dead.queries))
            check(took < 2.0, "took %.1f s: waited for DNS" % took)
            code, text, _ = locate(dead.server, "--domain", "kms.test", "--cache-file", cache,
                                   "--probe", "--explain", json_out=False)
            check(code == 0 and "DNS not queried: the cached host answered" in text, text)
            check("(remembered in the host cache)" in text and dead.queries == 0, text)
        # --no-cache: DNS order again (priority 0 first)
        code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache, "--no-cache")
        check(r["cache"] == "off" and r["hosts"][0]["target"] == "kms2.kms.test", r)
    # the cached host is gone: it fails, is dropped, and only then DNS is asked
    code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache, "--probe",
                        "--timeout", "1", "--explain")
    check(code == 15 and r["hosts"][0]["source"] == "cache", (code, r))
    check(r["queries"] >= 1 and not r["dns_skipped"], r)
    check("dropped from the cache" in r["hosts"][0]["why"], r)
    check([h["target"] for h in r["hosts"][1:]] == ["kms2.kms.test", "kms3.kms.test"], r)
    # its own SRV record, at the same address and port, is not waited for again
    check(r["hosts"][2]["probe"].get("again") and not r["hosts"][1]["probe"].get("again") and
          r["hosts"][2]["probe"]["address"] == r["hosts"][0]["probe"]["address"], r)
    check(not os.path.exists(cache), "failed cached host must be dropped")
    code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache)
    check(r["cache"] == "empty" and r["hosts"][0]["target"] == "kms2.kms.test", r)
    # a corrupt cache file is ignored, never trusted
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "w") as f:
        f.write('{"version":1,"host":"kms3.kms.test","port":')
    code, r, _ = locate(ns, "--domain", "kms.test", "--cache-file", cache)
    check(code == 0 and r["cache"] == "corrupt" and r["hosts"][0]["source"] == "srv", r)


def test_activation_count(ns):
    for count, want_code, want in ((10, 16, "0xC004F038"), (50, 0, "0x00000000")):
        with Listener(LIVE, count=count) as lst:
            srv_update(ns, ["update delete %s SRV" % Z])
            publish(ns, "kms3.kms.test", lst.port)
            code, r, _ = locate(ns, "--domain", "kms.test", "--no-cache", "--probe",
                                "--activation-check")
            check(code == want_code and r["outcome"] == want, (count, code, r))
            p = r["hosts"][0]["probe"]
            check(p["current_count"] == count and p["required_count"] == 25, p)
            # Windows Server / Office threshold 5: 10 and 50 both suffice
            code, r, _ = locate(ns, "--domain", "kms.test", "--no-cache", "--probe",
                                "--activation-check", "--required-count", "5")
            check(code == 0 and r["outcome"] == "0x00000000", (code, r))


def test_activation_counts_once(ns, tmp):
    """--activation-check uses one client machine ID per machine: two runs
    against a real kmsd grow its count by one, not two."""
    cache = os.path.join(tmp, "act", "host-cache")
    with endpoint(LIVE) as ep:
        def ctl(*args):
            out = run([program("kmsctl"), "--state-dir", ep.dir] + list(args), timeout=30)
            check(out.returncode == 0, (args, out.stdout, out.stderr))
            return out.stdout
        ctl("ipk", EXAMPLE_KEY)
        ctl("ato")
        ids, counts = [], []
        for _ in range(2):
            code, r, err = locate(ns, "--kms", "%s:%d" % (LIVE, ep.port), "--cache-file", cache,
                                  "--probe", "--activation-check", "--required-count", "1")
            check(code == 0 and r["outcome"] == "0x00000000", (code, r, err))
            p = r["hosts"][0]["probe"]
            ids.append(p["client_machine_id"])
            counts.append(p["current_count"])
        check(ids[0] == ids[1] and counts == [1, 1], (ids, counts))
        status = ctl("status")
        check(re.search(r"^count \S+ current=1 ", status, re.M), status)
        # the ID is the machine's (systemd app-specific ID of /etc/machine-id),
        # or, without one, kept beside the host cache
        if not os.path.exists("/etc/machine-id"):
            with open(os.path.join(tmp, "act", "client-id")) as f:
                check(f.read().strip() == ids[0], ids)


WIN10_KMS_ID = "58e2134f-8e11-4d17-9cb2-91069c151148"  # the pool kms-locate's request counts in


def test_threshold_against_real_kmsd(ns, tmp):
    """A real kmsd's ledger decides the outcome: below the Windows client
    threshold (25 distinct clients) --activation-check says 0xC004F038
    (exit 16); once 24 other clients have activated, 0x00000000."""
    cache = os.path.join(tmp, "thr", "host-cache")
    with endpoint(LIVE) as ep:
        for args in (["ipk", EXAMPLE_KEY], ["ato"]):
            out = run([program("kmsctl"), "--state-dir", ep.dir] + args, timeout=30)
            check(out.returncode == 0, (args, out.stdout, out.stderr))
        target = ["--kms", "%s:%d" % (LIVE, ep.port), "--cache-file", cache, "--probe",
                  "--activation-check"]
        code, r, err = locate(ns, *target)
        p = r["hosts"][0]["probe"]
        check(code == 16 and r["outcome"] == "0xC004F038", (code, r, err))
        check(p["current_count"] == 1 and p["required_count"] == 25, p)
        for i in range(24):
            out = run([program("kms_client"), "--kms-id", WIN10_KMS_ID, "--client-id",
                       "00000000-0000-4000-8000-%012d" % (i + 1), "%s:%d" % (LIVE, ep.port)],
                      timeout=30)
            check(out.returncode == 0 and "status=0x00000000" in out.stdout, out.stdout)
        code, r, err = locate(ns, *target)
        p = r["hosts"][0]["probe"]
        check(code == 0 and r["outcome"] == "0x00000000", (code, r, err))
        check(p["current_count"] == 25, p)


def test_manual_host(ns):
    with Listener(LIVE) as lst:
        code, r, _ = locate(ns, "--kms", "%s:%d" % (LIVE, lst.port), "--probe", "--no-cache")
        check(code == 0 and r["queries"] == 0 and r["hosts"][0]["source"] == "manual", r)
        check(lst.stop() == 1, "one connection expected")
    # a manual host that does not answer: 0x800706BA (exit 17), as Windows
    # reports for a KMS host set with /skms; not 0xC004F074 (that is for
    # hosts found in DNS or the cache)
    code, r, _ = locate(ns, "--kms", "%s:%d" % (LIVE, lst.port), "--probe", "--no-cache",
                        "--timeout", "1")
    check(code == 17 and r["outcome"] == "0x800706BA" and r["exit"] == 17, (code, r))
    check(r["hosts"][0]["probe"]["outcome"] == "0x800706BA", r)
    # the words: no SRV lookup (a numeric host needs no DNS at all; a name is
    # resolved, A and AAAA), and no "stale record" hint, which is about DNS
    code, text, _ = locate(ns, "--kms", "%s:%d" % (LIVE, lst.port), "--probe", "--no-cache",
                           "--timeout", "1", "--explain", json_out=False)
    check(code == 17 and "outcome: 0x800706BA" in text, text)
    check("no SRV lookup is made; a numeric address, so no DNS query at all" in text, text)
    check("not consulted" not in text and "stale" not in text, text)
    check("the manual KMS host did not answer the probe" in text, text)
    code, text, _ = locate(ns, "--kms", "kms1.kms.test:%d" % lst.port, "--probe", "--no-cache",
                           "--timeout", "1", "--explain", json_out=False)
    check(code == 17 and "no SRV lookup is made; only its addresses are looked up (A and AAAA)"
          in text, text)
    check("not consulted" not in text and "stale" not in text, text)
    # hosts from DNS that all fail keep 0xC004F074 and the stale-record hint
    srv_update(ns, ["update delete %s SRV" % Z])
    publish(ns, "kms1.kms.test", lst.port)
    code, text, _ = locate(ns, "--domain", "kms.test", "--no-cache", "--probe", "--timeout", "1",
                           "--explain", json_out=False)
    check(code == 15 and "outcome: 0xC004F074" in text and "often a stale record" in text, text)


def main():
    tmp = tempfile.mkdtemp(prefix="kms-locate-it.")
    try:
        with Named() as ns:
            t0 = time.monotonic()
            test_stale_record_skipped(ns)
            test_cache(ns, tmp)
            test_activation_count(ns)
            test_activation_counts_once(ns, tmp)
            test_threshold_against_real_kmsd(ns, tmp)
            test_manual_host(ns)
            check(time.monotonic() - t0 < 300, "took too long")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
