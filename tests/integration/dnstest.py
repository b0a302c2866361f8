"""Helpers for integration tests that need a real named on 127.0.0.1.

    from dnstest import Named
    with Named() as ns:                       # zones/start-named in a temp dir
        ns.nsupdate("update add _vlmcs._tcp.kms.test. 60 IN SRV 0 0 1688 kms1.kms.test.")
        assert ns.srv("_vlmcs._tcp.kms.test") == [(0, 0, 1688, "kms1.kms.test.", 60)]

Every wait is bounded; the named started here is stopped (by its PID only)
when the block exits, even on failure.  stdlib only.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("KMSDNS_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KMSDNS_BUILD") or os.path.join(SRC, "build")
ZONES = os.path.join(SRC, "zones")
os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def program(name):
    """Path of a program built in KMSDNS_BUILD (searched recursively)."""
    for root, _dirs, files in os.walk(BUILD):
        if name in files:
            path = os.path.join(root, name)
            if os.access(path, os.X_OK):
                return path
    raise FileNotFoundError("%s not built under %s" % (name, BUILD))


def run(argv, timeout=30, **kw):
    """subprocess.run with captured text output and a bounded timeout."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def wait_until(pred, timeout=5.0, step=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def make_key(path, name="kms-publisher.", algorithm="hmac-sha256"):
    """Write a fresh tsig-keygen key file (a new random secret)."""
    out = run(["tsig-keygen", "-a", algorithm, name], timeout=10)
    if out.returncode != 0:
        raise RuntimeError("tsig-keygen: " + out.stderr.strip())
    with open(path, "w") as f:
        f.write(out.stdout)
    return path


def check(cond, what, out=None):
    """Unless cond: print out (a CompletedProcess) to stderr, raise AssertionError(what)."""
    if not cond:
        if out is not None:
            print("rc:", out.returncode, "\nstdout:", out.stdout, "\nstderr:", out.stderr,
                  file=sys.stderr)
        raise AssertionError(what)


def kms_publish(*args, timeout=60):
    """Run kms-publish with args; returns the CompletedProcess (text)."""
    return run([program("kms-publish")] + [str(a) for a in args], timeout=timeout)


class Named:
    """A private named from zones/start-named; use as a context manager.

    Attributes after start(): pid, port, dir, key_file (kms-publisher.,
    may change SRV under _vlmcs._tcp), other_key_file (kms-other., known
    to the server but granted nothing), server ("127.0.0.1:PORT").
    """

    def __init__(self, bench_domains=0, extra_zones=0, v6=False, querylog=True,
                 workdir=None, key_algorithm=None, lagging_ns=False, broken_zone=False,
                 remote_ns=False):
        self.args = []
        if broken_zone:
            self.args.append("--broken-zone")  # zone broken.test: SERVFAIL
        if lagging_ns:
            self.args.append("--lagging-ns")  # zone lag.test, ns2 never answers
        if remote_ns:
            # zones remote.test (ns2.far.test: no glue, refused at 127.0.0.1,
            # found at ::1) and v6ns.test (ns6: AAAA only); implies --v6
            self.args.append("--remote-ns")
        if v6:
            self.args.append("--v6")
        if bench_domains:
            self.args += ["--bench-domains", str(bench_domains)]
        if extra_zones:
            self.args += ["--extra-zones", str(extra_zones)]
        if not querylog:
            self.args.append("--no-querylog")
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="kms-named.")
        self.pid = None
        self.port = None
        if key_algorithm:
            # start-named keeps a key file that is already there
            make_key(os.path.join(self.dir, "kms-publisher.key"), "kms-publisher.",
                     key_algorithm)

    def start(self):
        out = run([os.path.join(ZONES, "start-named")] + self.args + [self.dir], timeout=20)
        if out.returncode != 0:
            raise RuntimeError("start-named failed: " + out.stderr.strip())
        env = dict(line.split("=", 1) for line in out.stdout.split("\n") if "=" in line)
        self.pid = int(env["NAMED_PID"])
        self.port = int(env["NAMED_PORT"])
        self.key_file = env["KEY_FILE"]
        self.other_key_file = env["OTHER_KEY_FILE"]
        self.server = "127.0.0.1:%d" % self.port
        return self

    def stop(self):
        if self.pid is not None:
            run([os.path.join(ZONES, "stop-named"), self.dir], timeout=20)
            self.pid = None

    def alive(self):
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        # a zombie is not alive; reap-free check through /proc
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().split(") ")[1][0] != "Z"
        except OSError:
            return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._own_dir and not os.environ.get("KMSDNS_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    # ---- queries -------------------------------------------------------
    def dig(self, name, rtype="SRV", tcp=False, server="127.0.0.1"):
        """Answer section lines (+noall +answer) for name/rtype."""
        argv = ["dig", "-p", str(self.port), "@" + server, "+noall", "+answer",
                "+time=2", "+tries=1", name, rtype]
        if tcp:
            argv.insert(1, "+tcp")
        out = run(argv, timeout=10)
        return [l for l in out.stdout.split("\n") if l and not l.startswith(";")]

    def srv(self, name):
        """Sorted [(priority, weight, port, target, ttl)] at name."""
        recs = []
        for line in self.dig(name, "SRV"):
            f = line.split()
            if len(f) >= 8 and f[3] == "SRV":
                recs.append((int(f[4]), int(f[5]), int(f[6]), f[7].lower(), int(f[1])))
        return sorted(recs)

    def wait_srv(self, name, pred, timeout=5.0):
        """Poll srv(name) until pred(records) holds; returns the records."""
        recs = []

        def check():
            nonlocal recs
            recs = self.srv(name)
            return pred(recs)

        wait_until(check, timeout)
        return recs

    # ---- updates -------------------------------------------------------
    def nsupdate(self, body, key_file=None, zone=None, tcp=False, timeout=30):
        """Run nsupdate with body (lines; `send` appended if missing)."""
        lines = ["server 127.0.0.1 %d" % self.port]
        if zone:
            lines.append("zone " + zone)
        lines += body.strip().split("\n")
        if lines[-1].strip() != "send":
            lines.append("send")
        argv = ["nsupdate", "-k", key_file or self.key_file]
        if tcp:
            argv.append("-v")
        return run(argv, input="\n".join(lines) + "\n", timeout=timeout)

    # ---- named's log ---------------------------------------------------
    def log(self):
        with open(os.path.join(self.dir, "named.log"), errors="replace") as f:
            return f.read()

    def log_mark(self):
        """Position in the log; pass to update_messages(since=...)."""
        return len(self.log())

    def update_lines(self, since=0):
        return [l for l in self.log()[since:].split("\n") if " update: " in l]

    def security_lines(self, since=0):
        return [l for l in self.log()[since:].split("\n") if " security: " in l]

    def update_messages(self, since=0, zone=None):
        """Distinct UPDATE messages named processed since a log mark: one per
        (client object, source address#port) pair of `update:` lines, plus
        messages it rejected for their signature (`security:` lines);
        optionally only the `update:` lines of zone."""
        seen = []
        lines = self.update_lines(since)
        if not zone:
            lines += [l for l in self.security_lines(since) if "signature" in l]
        for l in lines:
            if zone and "zone '%s/IN'" % zone not in l:
                continue
            m = re.search(r"client @(\S+) (\S+#\d+)", l)
            if m and m.group(0) not in seen:
                seen.append(m.group(0))
        return len(seen)

    def query_lines(self, since=0):
        return [l for l in self.log()[since:].split("\n") if " queries: " in l]
