"""kms-publish faults: each gives a non-zero exit, one clear line on stderr
naming server, rcode and TSIG error, and no retry storm.

Covers: wrong secret (BADSIG), key unknown to the server (BADKEY), a key
outside the update-policy and a name outside the policy (REFUSED), named
down (bounded retries, then a clear error), an algorithm ldns cannot sign
with (refused at load), no key at all, and a real TSIG BADTIME from named:
kms-publish runs with its clock 400 s ahead (faketime) and reports the skew.
"""
import os
import shutil
import tempfile
import time

from harness import Named, check, kms_publish, make_key, program, run


def one_line(out):
    lines = [l for l in out.stderr.split("\n") if l]
    return lines[0] if len(lines) == 1 else None


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
             'server does not know key "nobody-knows-me"' % srv),
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
    bad = os.path.join(tmp, "sha384.key")
    with open(bad, "w") as f:
        f.write('key "kms-publisher." {\n\talgorithm hmac-sha384;\n\tsecret "AAAA";\n};\n')
    out = kms_publish("publish", "--server", "127.0.0.1:9", "--key", bad, "--domain", "kms.test",
                      "--target", "kms1.kms.test")
    check(out.returncode == 2, "config error exit", out)
    check(one_line(out) == "kms-publish: %s: line 2: TSIG algorithm 'hmac-sha384' is not supported "
          "by the ldns library (use hmac-sha256, hmac-sha512, hmac-sha1 or hmac-md5)" % bad,
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
