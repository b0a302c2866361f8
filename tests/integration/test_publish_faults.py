# SPDX-License-Identifier: MIT
"""kms-publish faults: each gives a non-zero exit, one clear line on stderr
naming server, rcode and TSIG error, and no retry storm.

Covers: wrong secret (BADSIG), key unknown to the server (BADKEY), a key
outside the update-policy and a name outside the policy (REFUSED), named
down (bounded retries, then a clear error), an algorithm ldns cannot sign
with (refused at load), no key at all, and a real TSIG BADTIME from named:
kms-publish runs with its clock 400 s ahead (faketime) and reports the skew.
"""
import json
import os
import random
import shutil
import subprocess
import tempfile
import time

from harness import Named, check, kms_publish, make_key, program, run


def one_line(out):
    lines = [l for l in out.stderr.split("\n") if l]
    return lines[0] if len(lines) == 1 else None


def named_killed_mid_publish():
    """named killed (SIGKILL) at a random moment of a 1000-domain publish
    and started again from what it left on disk, within the run's attempts or
    after them: for every
    domain the report matches DNS - ok means the record is there, a refusal
    or a failed lookup means it is not, and an UPDATE left unanswered says
    it may have been applied (then either is true).  Six rounds, each
    bounded by the run's own attempts."""
    doms = ",".join("d%04d.kms.test" % i for i in range(1, 1001))
    rnd = random.Random(1996)
    with Named(bench_domains=1000, querylog=False) as ns:
        seen = {"ok": 0, "unknown": 0, "failed": 0}
        for rnd_i in range(6):
            target = "kms%d.kms.test" % (rnd_i + 1)
            proc = subprocess.Popen([program("kms-publish"), "publish", "--server", ns.server,
                                     "--key", ns.key_file, "--domain", doms, "--target", target,
                                     "--attempts", "2", "--timeout", "0.5", "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(rnd.uniform(0.02, 0.3))
            ns.kill9()
            time.sleep((0.3, 2.5)[rnd_i % 2])  # back within the attempts, or after them
            ns.restart_kept()
            out, err = proc.communicate(timeout=120)
            res = json.loads(out)["results"]
            check(len(res) == 1000, ("one result per domain", rnd_i, err))
            shown = kms_publish("show", "--server", ns.server, "--domain", doms, "--json")
            check(shown.returncode == 0, ("show after the restart", rnd_i), shown)
            there = {r["domain"]: any(x["target"] == target + "." for x in r.get("records", []))
                     for r in json.loads(shown.stdout)["results"]}
            counts = {"ok": 0, "unknown": 0, "failed": 0}
            for r in res:
                if r["ok"]:
                    counts["ok"] += 1
                    check(there[r["domain"]], ("reported ok, not in DNS", rnd_i, r))
                elif "may have applied it" in r["message"]:
                    counts["unknown"] += 1
                else:
                    counts["failed"] += 1
                    check(not there[r["domain"]], ("reported failed, yet in DNS", rnd_i, r))
            print("round %d: %r" % (rnd_i, counts))
            for k in counts:
                seen[k] += counts[k]
        # both ways exercised: domains that got through and domains that did not
        check(seen["ok"] > 0 and seen["unknown"] + seen["failed"] > 0, seen)


def main():
    tmp = tempfile.mkdtemp(prefix="kms-faults.")
    wrong = make_key(os.path.join(tmp, "wrong.key"), "kms-publisher.")
    unknown = make_key(os.path.join(tmp, "unknown.key"), "nobody-knows-me.")
    with Named() as ns:
        srv = "127.0.0.1#%d" % ns.port
        cases = [
            (wrong, "kms.test", 'kms-publish: update refused by %s: NOTAUTH (TSIG BADSIG): key '
             '"kms-publisher" does not match the server\'s' % srv),
            (unknown, "kms.test", 'kms-publish: update refused by %s: NOTAUTH (TSIG BADKEY): the '
             'server does not know key "nobody-knows-me", or (Knot) its ACL does not let that key '
             'make this change' % srv),
            (ns.other_key_file, "kms.test", 'kms-publish: update refused by %s: REFUSED: key '
             '"kms-other" may not make this change (update-policy)' % srv),
            (ns.key_file, "sub.kms.test", 'kms-publish: update refused by %s: REFUSED: key '
             '"kms-publisher" may not make this change (update-policy)' % srv),
        ]
        for key, dom, want in cases:
            mark = ns.log_mark()
            t0 = time.monotonic()
            out = kms_publish("publish", "--server", ns.server, "--key", key, "--domain", dom,
                              "--target", "kms1.kms.test", "--attempts", 4)
            took = time.monotonic() - t0
            check(out.returncode == 1, "non-zero exit for %s" % want, out)
            check(one_line(out) == want, "one clear line: want %r" % want, out)
            check(out.stdout.startswith(dom + ": error: "), "per-domain result", out)
            # definitive refusals are not retried: named saw exactly one UPDATE
            n = ns.update_messages(mark)
            check(n == 1, "exactly one UPDATE reached named, saw %d" % n, out)
            check(took < 5, "answered promptly (%.1f s)" % took)
        check(ns.srv("_vlmcs._tcp.kms.test") == [], "nothing was published")

        # A clock 400 s ahead: named answers NOTAUTH/BADTIME with its own time
        # in Other Data (RFC 8945 5.2.3); the skew is in the one line, and the
        # answer is definitive (one UPDATE, no retry).
        check(shutil.which("faketime") is not None, "faketime installed (scripts/install-deps)")
        env = dict(os.environ)
        # libfaketime is preloaded ahead of the sanitizer runtime
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        mark = ns.log_mark()
        out = run(["faketime", "-f", "+400s", program("kms-publish"), "publish", "--server",
                   ns.server, "--key", ns.key_file, "--domain", "kms.test", "--target",
                   "kms1.kms.test", "--attempts", "4"], timeout=30, env=env)
        line = one_line(out) or ""
        check(out.returncode == 1, "BADTIME fails", out)
        check(line.startswith("kms-publish: update refused by %s: NOTAUTH (TSIG BADTIME): clocks "
                              "differ by " % srv), "BADTIME explained", out)
        skew = int(line.split("clocks differ by ")[1].split(" s")[0])
        check(398 <= skew <= 402, "skew reported as about 400 s, got %d" % skew, out)
        check("(server behind)" in line, "says which side is behind", out)
        check(ns.update_messages(mark) == 1, "BADTIME not retried", out)
        check(ns.srv("_vlmcs._tcp.kms.test") == [], "nothing was published under BADTIME")

    named_killed_mid_publish()

    # named down: bounded retries with backoff, then one clear line
    with Named() as ns:
        port = ns.port
        key = ns.key_file
        ns.stop()
        t0 = time.monotonic()
        out = kms_publish("publish", "--server", "127.0.0.1:%d" % port, "--key", key,
                          "--domain", "kms.test", "--target", "kms1.kms.test",
                          "--attempts", 3, "--timeout", 0.5, "--verbose")
        took = time.monotonic() - t0
        check(out.returncode == 1, "server down fails", out)
        lines = [l for l in out.stderr.split("\n") if l]
        retries = [l for l in lines if "retrying in" in l]
        check(len(retries) == 2, "two retries logged (3 attempts)", out)
        check(lines[-1] == "kms-publish: zone of _vlmcs._tcp.kms.test. not found: no answer from "
              "127.0.0.1#%d to the query: connection refused (is the server running?) (3 attempts)" % port,
              "clear final line", out)
        check(took < 10, "bounded (%.1f s)" % took)

    # keys that cannot work are refused before anything is sent
    bad = os.path.join(tmp, "sha3.key")
    with open(bad, "w") as f:
        f.write('key "kms-publisher." {\n\talgorithm hmac-sha3-256;\n\tsecret "AAAA";\n};\n')
    out = kms_publish("publish", "--server", "127.0.0.1:9", "--key", bad, "--domain", "kms.test",
                      "--target", "kms1.kms.test")
    check(out.returncode == 2, "config error exit", out)
    check(one_line(out) == "kms-publish: %s: line 2: TSIG algorithm 'hmac-sha3-256' is not "
          "supported (use hmac-sha256, hmac-sha224, hmac-sha384, hmac-sha512, hmac-sha1 or "
          "hmac-md5)" % bad,
          "algorithm line", out)
    out = kms_publish("publish", "--server", "127.0.0.1:9", "--domain", "kms.test",
                      "--target", "kms1.kms.test")
    check(out.returncode == 2 and one_line(out).startswith("kms-publish: no TSIG key"),
          "no key", out)
    out = kms_publish("publish", "--server", "127.0.0.1:9", "--key", bad + ".missing",
                      "--domain", "kms.test", "--target", "x.kms.test")
    check(out.returncode == 2 and "not found" in out.stderr, "missing key file", out)
    out = kms_publish("publish", "--domain", "kms..test", "--target", "x")
    check(out.returncode == 2 and "not a valid domain name" in out.stderr, "bad domain", out)
    # a directory in place of the key file is said to be one
    out = kms_publish("publish", "--server", "127.0.0.1:9", "--key", tmp, "--domain", "kms.test",
                      "--target", "x.kms.test")
    check(out.returncode == 2 and one_line(out) == "kms-publish: %s: is a directory" % tmp,
          "directory as key file", out)
    # a key file others can read is used, with a warning naming it (BIND's rule)
    public = make_key(os.path.join(tmp, "public.key"))
    os.chmod(public, 0o644)
    args = ["--server", "127.0.0.1:9", "--domain", "kms.test", "--target", "x.kms.test",
            "--attempts", "1", "--timeout", "1"]
    out = kms_publish("publish", "--key", public, *args)
    check(out.returncode == 1, "the key is used", out)
    check("kms-publish: warning: key file %s is readable by others (mode 0644): chmod o-r %s"
          % (public, public) in out.stderr, "public key file warned about", out)
    os.chmod(public, 0o640)
    out = kms_publish("publish", "--key", public, *args)
    check(out.returncode == 1 and "readable by others" not in out.stderr,
          "no warning for a private key file", out)
    print("ok")


if __name__ == "__main__":
    main()
