# SPDX-License-Identifier: MIT
"""harness - the one helper module of the integration tests (python3 stdlib only).

    import harness
    with harness.Named() as ns:                      # zones/start-named in a temp dir
        ns.nsupdate("update add _vlmcs._tcp.kms.test. 60 IN SRV 0 0 1688 kms1.kms.test.")
        harness.check(ns.srv("_vlmcs._tcp.kms.test") == [(0, 0, 1688, "kms1.kms.test.", 60)],
                      "record served")

What it provides:

- paths and programs: SRC (KMSDNS_SRC), BUILD (KMSDNS_BUILD); program(name)
  is the one way to find a built program, always BUILD/bin/NAME; run() runs
  one with captured text output and a bounded timeout;
- outcomes: check(cond, what, output) raises AssertionError (the tests
  use no assert statement: python -O drops those); skip(reason) ends a
  plain-function test file as skipped (exit 77, ctest's SKIP_RETURN_CODE:
  reported "Skipped", never "Passed"); skip_part() says loudly that one
  part of a file could not run here; main() runs the unittest tests of a
  file and exits 77 when every one was skipped;
- small tools: wait_until(), free_port(), have_ipv6(), make_key();
- in_netns(): run this test file in a private network namespace of its own
  (unshare -n), where more loopback addresses may be added (127.0.0.2, ...);
- named: Named, a private named from zones/start-named (dig, srv,
  nsupdate, named-log helpers), and kms_publish(); Named(secondaries=N)
  adds N secondaries on 127.0.0.2.. (NOTIFY + IXFR; needs in_netns()),
  hold(k)/release(k) make one lag on demand; Named(tls=True) adds
  DNS-over-TLS listeners (a valid and an expired certificate of a CA made
  for the run, and one that wants a client certificate);
- Kerberos: Named(gss=True) also starts start-named's private MIT KDC
  (realm KMS.TEST; keytabs and principals for kms1, kms2, kms1-ad and dns):
  krb_env(), kinit(), nsupdate_gss(), kdc_stop()/kdc_start(); a machine
  without krb5kdc skips the test (NoKerberos, a unittest.SkipTest);
- kmsd: Kmsd (one kmsd with its own state directory and config file),
  KmsdTestCase (NamedKmsdTestCase: with a private named, self.named()),
  kms_client() (tests/tools/kms_client), and the DCE/RPC PDU builders and
  readers (C706 ch. 12) of the raw-socket tests;
- kms-locate: locate(), Listener (tests/tools/locate_listener), FakeDNS,
  srv_update(), publish();
- TcpRelay: a counting TCP relay (connections made, cut() to drop them),
  e.g. in front of a DoT port (Named(tls=True): start-named --tls).

A program missing from BUILD/bin raises NotBuilt, a unittest.SkipTest: a
unittest test is reported skipped; a plain-function file fails on it.

Every wait is bounded; every process started here is stopped (by its PID
only: SIGTERM, then SIGKILL, or zones/stop-named) and the temporary
directories made here are removed, also when the test fails (KMSDNS_KEEP=1
keeps them).  Traffic stays on 127.0.0.1 (and the other 127/8 addresses of
the test zones) and ::1; addresses other than 127.0.0.1 are only ever added
to the lo of a private network namespace (in_netns()).
"""

import calendar
import contextlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

SRC = os.environ.get("KMSDNS_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("KMSDNS_BUILD") or os.path.join(SRC, "build")
ZONES = os.path.join(SRC, "zones")
os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"

# ctest's SKIP_RETURN_CODE (tests/integration/CMakeLists.txt).
SKIP = 77

# A format-valid 5x5 example key (not a real product key).
EXAMPLE_KEY = "BCDFG-HJKMP-QRTVW-XY234-6789B"
EXAMPLE_KEY2 = "QRTVW-XY234-6789B-BCDFG-HJKMP"
OFFICE_ACTID = "d450596f-894d-49e0-966a-fd39ed4c4c64"


# ---- programs, processes, outcomes ------------------------------------------

class NotBuilt(unittest.SkipTest):
    """A program the test needs is not in BUILD/bin."""


def program(name):
    """Path of a program of the build: BUILD/bin/NAME (kmsd, kmsctl, kms-publish,
    kms-locate and the tests/tools helpers).  Raises NotBuilt when it is not there."""
    path = os.path.join(BUILD, "bin", name)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    raise NotBuilt("program %s not built in %s" % (name, os.path.join(BUILD, "bin")))


def run(argv, timeout=30, **kw):
    """subprocess.run with captured text output and a bounded timeout."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def check(cond, what, output=None):
    """Unless cond: print output (a CompletedProcess, or text) to stderr and
    raise AssertionError(what).  what may be any value worth showing."""
    if not cond:
        if isinstance(output, subprocess.CompletedProcess):
            print("rc:", output.returncode, "\nstdout:", output.stdout, "\nstderr:",
                  output.stderr, file=sys.stderr)
        elif output is not None:
            print(output, file=sys.stderr)
        raise AssertionError(what)


def skip(reason):
    """End a plain-function test file that cannot run here: ctest reports it
    skipped (exit 77), never passed.  Only when nothing of the file ran."""
    print("SKIPPED: %s" % reason, flush=True)
    sys.exit(SKIP)


def skip_part(what, reason):
    """Say loudly that one part (what) of a test file could not run here; the
    rest of the file runs and decides its exit code."""
    print("SKIPPED %s: %s" % (what, reason), flush=True)


def main():
    """Run the unittest tests of __main__ (verbosity 2, names on the command
    line as unittest takes them) and exit for ctest: 1 on any failure or
    error, 77 when every test was skipped, else 0.  Skipped tests are listed
    with their reason."""
    prog = unittest.main(module="__main__", verbosity=2, exit=False)
    result = prog.result
    for test, reason in result.skipped:
        name = test.id() if hasattr(test, "id") else str(test)
        print("SKIPPED %s: %s" % (name, reason), file=sys.stderr)
    if result.failures or result.errors or result.unexpectedSuccesses:
        sys.exit(1)
    if result.testsRun == 0:
        print("no test ran", file=sys.stderr)
        sys.exit(1)
    if len(result.skipped) == result.testsRun:
        print("every test was skipped", file=sys.stderr)
        sys.exit(SKIP)
    sys.exit(0)


def wait_until(pred, timeout=5.0, step=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass;
    returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


_ipv6 = None


def have_ipv6():
    """True when ::1 can be bound (an IPv6 loopback exists)."""
    global _ipv6
    if _ipv6 is None:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(("::1", 0))
            _ipv6 = True
        except OSError:
            _ipv6 = False
    return _ipv6


# Set by in_netns() for the test it re-executes: the network namespace it
# left, so the new process can tell it really is in another one.
NETNS_FROM = "KMSDNS_NETNS_FROM"


def in_netns():
    """Run the rest of this test file in a private network namespace.

    Call first thing in main().  Outside one, re-executes this test (the
    same python, argv and environment; the same PID, so ctest sees its exit
    code) under `unshare -n` (as root; else `unshare -r -n`, a user
    namespace of its own); inside, brings lo up (127.0.0.1 and ::1) and
    returns.  Nothing outside 127/8 and ::1 is reachable there, and
    addresses added to its lo (start-named --secondaries adds 127.0.0.2..)
    end with it, never touching the machine's own interfaces.  When no
    namespace can be made here (no unshare or ip, not permitted), the test
    is skipped (exit 77): call it before anything ran."""
    here = os.readlink("/proc/self/ns/net")
    origin = os.environ.get(NETNS_FROM)
    if origin:
        if origin == here:
            raise RuntimeError("%s=%s but this process is still in that network namespace"
                               % (NETNS_FROM, origin))
        out = run(["ip", "link", "set", "lo", "up"], timeout=10)
        if out.returncode != 0:
            raise RuntimeError("ip link set lo up: " + out.stderr.strip())
        return
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            skip("no private network namespace here: %s not installed (util-linux, iproute2)"
                 % tool)
    why = ""
    for argv in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        probe = run(argv + ["true"], timeout=10)
        if probe.returncode == 0:
            break
        why = why or probe.stderr.strip()
    else:
        skip("no private network namespace here (unshare -n: %s)" % why)
    sys.stdout.flush()
    sys.stderr.flush()
    env = dict(os.environ)
    env[NETNS_FROM] = here
    os.execvpe(argv[0], argv + ["--", sys.executable] + sys.argv, env)


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """A port of kind (TCP, or SOCK_DGRAM) free on host right now; for an IPv4
    host also free on ::1 when there is one (kmsd listens on both)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if family == socket.AF_INET and have_ipv6():
            try:
                with socket.socket(socket.AF_INET6, kind) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port found")


def make_key(path, name="kms-publisher.", algorithm="hmac-sha256"):
    """Write a fresh tsig-keygen key file (a new random secret)."""
    out = run(["tsig-keygen", "-a", algorithm, name], timeout=10)
    if out.returncode != 0:
        raise RuntimeError("tsig-keygen: " + out.stderr.strip())
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(out.stdout)
    return path


# ---- named -------------------------------------------------------------------

def kms_publish(*args, timeout=60, env=None):
    """Run kms-publish with args (and env, e.g. Named.krb_env(), when given);
    returns the CompletedProcess (text)."""
    return run([program("kms-publish")] + [str(a) for a in args], timeout=timeout, env=env)


class NoKerberos(unittest.SkipTest):
    """The MIT Kerberos tools of the GSS-TSIG world are not installed."""


KRB5_TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist")


class Named:
    """A private named from zones/start-named; use as a context manager.

    Attributes after start(): pid, port, dir, key_file (kms-publisher.,
    may change SRV under _vlmcs._tcp), other_key_file (kms-other., known
    to the server but granted nothing), server ("127.0.0.1:PORT").

    gss=True (start-named --gss; ticket_lifetime="3m" implies it) adds a
    private KDC and GSS-TSIG in named; after start(): realm ("KMS.TEST"),
    krb5_config, kdc_profile, kdc_pid, kdc_port, keytabs and principals
    (dicts keyed "kms1", "kms2", "kms1-ad", "dns").  Raises NoKerberos (a
    unittest.SkipTest) when the Kerberos tools are missing.

    secondaries=N (start-named --secondaries N; only in a private network
    namespace: call in_netns() first) adds N secondary named serving
    kms.test and corp.test, transferred from this primary (NOTIFY, IXFR),
    on the primary's port and in the zones' NS sets (nsK.kms.test); after
    start(): secondaries (their addresses, ["127.0.0.2", "127.0.0.3", ...]),
    secondary_names (["ns2.kms.test", ...]), secondary_pids, servers (the
    primary's address, then the secondaries'); hold(k)/release(k) (k: 1..N
    or an address) make one lag and catch up; serial(), wait_synced().

    tls=True (start-named --tls) adds DNS-over-TLS listeners with a CA and
    certificates made for the run (tls_port=N: the valid one on port N,
    port=N: the plain one; 853 and 53 only in a private network namespace,
    in_netns()); after start(): tls_port and tls_server
    ("127.0.0.1:TLS_PORT", a certificate for tls_name "ns1.kms.test" and
    IP 127.0.0.1), tls_expired_port and tls_expired_server (the same key in
    a certificate that expired yesterday), tls_mutual_port and
    tls_mutual_server (the valid certificate; only clients with a client
    certificate of the CA get an answer), tls_ca_file (the CA that signed
    them), tls_other_ca_file (a CA that signed none), tls_cert_file,
    tls_key_file (the server's), tls_expired_cert_file, tls_client_cert_file
    and tls_client_key_file (a client certificate of the CA); dig(...,
    tls=True) asks over DoT.
    """

    def __init__(self, bench_domains=0, extra_zones=0, v6=False, querylog=True,
                 workdir=None, key_algorithm=None, lagging_ns=False, broken_zone=False,
                 remote_ns=False, gss=False, ticket_lifetime=None, secondaries=0, tls=False,
                 port=None, tls_port=None, other_mname=False):
        self.args = []
        self.tls = bool(tls or tls_port)
        if self.tls:
            self.args.append("--tls")  # DoT listeners, CA and certificates in DIR/tls
        if tls_port:
            self.args += ["--tls-port", str(tls_port)]  # 853: only in a private netns
        if port:
            self.args += ["--port", str(port)]  # 53: only in a private netns
        self.nsecondaries = int(secondaries)
        if self.nsecondaries:
            self.args += ["--secondaries", str(self.nsecondaries)]
        self.secondaries = []
        self.secondary_names = []
        self.secondary_pids = []
        self.gss = bool(gss or ticket_lifetime)
        if self.gss:
            missing = [t for t in KRB5_TOOLS if shutil.which(t) is None]
            if missing:
                raise NoKerberos("%s not installed (scripts/install-deps)" % ", ".join(missing))
            # a private MIT KDC, realm KMS.TEST, GSS-TSIG grants in kms.test
            self.args.append("--gss")
        if ticket_lifetime:
            self.args += ["--ticket-lifetime", str(ticket_lifetime)]
        if other_mname:
            # zone other.test, SOA MNAME ns1.other.test (127.0.0.1): not the
            # --tls certificate's name
            self.args.append("--other-mname")
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
        self.kdc_pid = None
        self._kdc_proc = None
        if key_algorithm:
            # start-named keeps a key file that is already there
            make_key(os.path.join(self.dir, "kms-publisher.key"), "kms-publisher.",
                     key_algorithm)

    def start(self):
        out = run([os.path.join(ZONES, "start-named")] + self.args + [self.dir],
                  timeout=20 + 10 * self.nsecondaries)
        if out.returncode != 0:
            raise RuntimeError("start-named failed: " + out.stderr.strip())
        # NAME=VALUE lines, values quoted for the shell where needed
        env = {}
        for line in out.stdout.split("\n"):
            if "=" in line:
                name, value = line.split("=", 1)
                env[name] = shlex.split(value)[0] if value.startswith("'") else value
        self.pid = int(env["NAMED_PID"])
        self.port = int(env["NAMED_PORT"])
        self.key_file = env["KEY_FILE"]
        self.other_key_file = env["OTHER_KEY_FILE"]
        self.server = "127.0.0.1:%d" % self.port
        if self.nsecondaries:
            self.secondaries = env["SECONDARY_ADDRS"].split()
            self.secondary_names = env["SECONDARY_NAMES"].split()
            self.secondary_pids = [int(p) for p in env["SECONDARY_PIDS"].split()]
        if self.tls:
            self.tls_port = int(env["TLS_PORT"])
            self.tls_server = "127.0.0.1:%d" % self.tls_port
            self.tls_expired_port = int(env["TLS_EXPIRED_PORT"])
            self.tls_expired_server = "127.0.0.1:%d" % self.tls_expired_port
            self.tls_mutual_port = int(env["TLS_MUTUAL_PORT"])
            self.tls_mutual_server = "127.0.0.1:%d" % self.tls_mutual_port
            self.tls_name = env["TLS_NAME"]
            self.tls_ca_file = env["TLS_CA_FILE"]
            self.tls_other_ca_file = env["TLS_OTHER_CA_FILE"]
            self.tls_cert_file = env["TLS_CERT_FILE"]
            self.tls_key_file = env["TLS_KEY_FILE"]
            self.tls_expired_cert_file = env["TLS_EXPIRED_CERT_FILE"]
            self.tls_client_cert_file = env["TLS_CLIENT_CERT_FILE"]
            self.tls_client_key_file = env["TLS_CLIENT_KEY_FILE"]
        if self.gss:
            self.kdc_pid = int(env["KDC_PID"])
            self.kdc_port = int(env["KDC_PORT"])
            self.realm = env["REALM"]
            self.krb5_config = env["KRB5_CONFIG"]
            self.kdc_profile = env["KRB5_KDC_PROFILE"]
            self.keytabs = {"kms1": env["KMS1_KEYTAB"], "kms2": env["KMS2_KEYTAB"],
                            "kms1-ad": env["KMS1_AD_KEYTAB"], "dns": env["DNS_KEYTAB"]}
            self.principals = {"kms1": env["KMS1_PRINCIPAL"], "kms2": env["KMS2_PRINCIPAL"],
                               "kms1-ad": env["KMS1_AD_PRINCIPAL"],
                               "dns": "DNS/ns1.kms.test@" + self.realm}
        return self

    def stop(self):
        if self._kdc_proc is not None:
            self.kdc_stop()  # ours (kdc_start): stopped and reaped here
        if self.pid is not None or self.kdc_pid is not None or self.secondary_pids:
            run([os.path.join(ZONES, "stop-named"), self.dir],
                timeout=20 + 6 * len(self.secondary_pids))
            self.pid = None
            self.kdc_pid = None
            self.secondary_pids = []

    def kill9(self):
        """Kill named at once (SIGKILL): what a crash or a power cut leaves."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            wait_until(lambda: not self.alive(), timeout=10)

    def restart_kept(self, timeout=10):
        """named again on the same port with the zone files and journals as
        they are (start() would write fresh zones); until it answers."""
        env = dict(os.environ, PATH=os.environ["PATH"] + ":/usr/sbin")
        if self.gss:  # as start-named runs it
            env.update(KRB5_CONFIG=self.krb5_config, KRB5_KDC_PROFILE=self.kdc_profile,
                       KRB5RCACHEDIR=self.dir)
        proc = subprocess.Popen(["named", "-f", "-c", os.path.join(self.dir, "named.conf")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        self.pid = proc.pid
        self._proc = proc
        with open(os.path.join(self.dir, "named.started-pid"), "w") as f:
            f.write("%d\n" % proc.pid)  # for stop-named
        if not wait_until(lambda: self.dig("kms.test", "SOA") != [] and
                          (not self.tls or self.dig("kms.test", "SOA", tls=True) != []),
                          timeout=timeout):
            raise RuntimeError("named did not come back in %s" % self.dir)

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

    # ---- secondaries (secondaries=N) -----------------------------------
    @property
    def servers(self):
        """Every name server of kms.test here: 127.0.0.1, then the secondaries."""
        return ["127.0.0.1"] + self.secondaries

    def _secondary_op(self, op, k):
        out = run([os.path.join(ZONES, op + "-secondary"), self.dir, str(k)], timeout=20)
        if out.returncode != 0:
            raise RuntimeError("%s-secondary %s: %s" % (op, k, out.stderr.strip()))
        return out.stdout.strip()

    def hold(self, k):
        """Hold back secondary k (1..N, or its address): it keeps serving what
        it has, takes no NOTIFY and transfers nothing (zones/hold-secondary)."""
        return self._secondary_op("hold", k)

    def release(self, k):
        """Let secondary k catch up (zones/release-secondary): it is NOTIFYed
        and transfers what it missed; returns without waiting for that."""
        return self._secondary_op("release", k)

    def serial(self, zone="kms.test", server="127.0.0.1"):
        """The SOA serial of zone at server, or None."""
        for line in self.dig(zone, "SOA", server=server):
            f = line.split()
            if len(f) >= 7 and f[3] == "SOA":
                return int(f[6])
        return None

    def wait_synced(self, server, zone="kms.test", timeout=5.0):
        """Poll until server serves zone with the primary's serial."""
        return wait_until(lambda: self.serial(zone, server) == self.serial(zone), timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._own_dir and not os.environ.get("KMSDNS_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    # ---- queries -------------------------------------------------------
    def dig(self, name, rtype="SRV", tcp=False, server="127.0.0.1", tls=False):
        """Answer section lines (+noall +answer) for name/rtype; tls=True:
        over DoT at tls_port, the certificate checked against tls_ca_file
        and tls_name."""
        argv = ["dig", "-p", str(self.tls_port if tls else self.port), "@" + server, "+noall",
                "+answer", "+time=2", "+tries=1", name, rtype]
        if tcp:
            argv.insert(1, "+tcp")
        if tls:
            argv[1:1] = ["+tls-ca=" + self.tls_ca_file, "+tls-hostname=" + self.tls_name]
        out = run(argv, timeout=10)
        return [l for l in out.stdout.split("\n") if l and not l.startswith(";")]

    def srv(self, name, server="127.0.0.1"):
        """Sorted [(priority, weight, port, target, ttl)] at name (as served
        by server: a secondary's address to ask it)."""
        recs = []
        for line in self.dig(name, "SRV", server=server):
            f = line.split()
            if len(f) >= 8 and f[3] == "SRV":
                recs.append((int(f[4]), int(f[5]), int(f[6]), f[7].lower(), int(f[1])))
        return sorted(recs)

    def wait_srv(self, name, pred, timeout=5.0):
        """Poll srv(name) until pred(records) holds; returns the records."""
        recs = []

        def holds():
            nonlocal recs
            recs = self.srv(name)
            return pred(recs)

        wait_until(holds, timeout)
        return recs

    # ---- updates -------------------------------------------------------
    def nsupdate(self, body, key_file=None, zone=None, tcp=False, timeout=30):
        """Run nsupdate with body (lines; `send` appended if missing)."""
        return self._nsupdate(["-k", key_file or self.key_file], body, zone, tcp, timeout)

    def _nsupdate(self, sign, body, zone, tcp, timeout, env=None):
        """nsupdate with the signing options sign, at this named."""
        lines = ["server 127.0.0.1 %d" % self.port]
        if zone:
            lines.append("zone " + zone)
        lines += body.strip().split("\n")
        if lines[-1].strip() != "send":
            lines.append("send")
        argv = ["nsupdate"] + sign + (["-v"] if tcp else [])
        return run(argv, input="\n".join(lines) + "\n", timeout=timeout, env=env)

    # ---- Kerberos (gss=True) -------------------------------------------
    def krb_env(self, ccache=None):
        """Environment for a Kerberos client of this realm: os.environ with
        KRB5_CONFIG (this world's krb5.conf, nothing from /etc) and
        KRB5CCNAME=FILE:<ccache> (a path or a full cache name; None: a new
        file name under dir, no cache there yet)."""
        if ccache is None:
            ccache = os.path.join(self.dir, "ccache.%s" % uuid.uuid4().hex[:12])
        if not re.match(r"^[A-Z]+:", ccache):
            ccache = "FILE:" + ccache
        env = dict(os.environ, KRB5_CONFIG=self.krb5_config, KRB5CCNAME=ccache)
        env.pop("KRB5_KDC_PROFILE", None)
        return env

    def kinit(self, which, ccache=None, timeout=15):
        """kinit -k -t <keytab> <principal> of which ("kms1", "kms2",
        "kms1-ad", "dns") into ccache (see krb_env); returns that
        environment, to pass to the programs run with the ticket.  Raises
        RuntimeError when kinit fails."""
        env = self.krb_env(ccache)
        out = run(["kinit", "-k", "-t", self.keytabs[which], self.principals[which]],
                  timeout=timeout, env=env)
        if out.returncode != 0:
            raise RuntimeError("kinit %s: %s" % (self.principals[which], out.stderr.strip()))
        return env

    def klist(self, env):
        """klist of the cache in env (from krb_env or kinit), C locale:
        [(start, end, service)] with start and end as epoch seconds."""
        out = run(["klist"], timeout=10, env=dict(env, LC_ALL="C", TZ="UTC"))
        tickets = []
        stamp = r"(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)"
        for m in re.finditer(r"^%s\s+%s\s+(\S+)" % (stamp, stamp), out.stdout, re.M):
            t = [calendar.timegm(time.strptime(x, "%m/%d/%y %H:%M:%S"))
                 for x in (m.group(1), m.group(2))]
            tickets.append((t[0], t[1], m.group(3)))
        return tickets

    def nsupdate_gss(self, body, ccache, zone=None, tcp=False, timeout=30):
        """Like nsupdate(), signed with GSS-TSIG (nsupdate -g) with the
        ticket in ccache (a path, a cache name, or an env from kinit())."""
        env = ccache if isinstance(ccache, dict) else self.krb_env(ccache)
        return self._nsupdate(["-g"], body, zone, tcp, timeout, env)

    def kdc_alive(self):
        if self.kdc_pid is None:
            return False
        if self._kdc_proc is not None:
            return self._kdc_proc.poll() is None
        try:
            with open("/proc/%d/stat" % self.kdc_pid) as f:
                return f.read().split(") ")[1][0] != "Z"
        except OSError:
            return False

    def kdc_stop(self, timeout=10):
        """Stop the KDC (SIGTERM, its PID only; SIGKILL after timeout): the
        realm's KDC is unreachable until kdc_start()."""
        if self.kdc_pid is None:
            return
        try:
            os.kill(self.kdc_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_until(lambda: not self.kdc_alive(), timeout=timeout):
            os.kill(self.kdc_pid, signal.SIGKILL)
            wait_until(lambda: not self.kdc_alive(), timeout=5)
        if self._kdc_proc is not None:
            self._kdc_proc.wait(timeout=5)
            self._kdc_proc = None
        self.kdc_pid = None
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.dir, "kdc.started-pid"))

    def kdc_start(self, timeout=10):
        """Start the KDC again (after kdc_stop()) on the same port with the
        same database; until a kinit works.  stop()/stop-named stop it."""
        if self.kdc_pid is not None:
            return
        env = dict(os.environ, KRB5_CONFIG=self.krb5_config, KRB5_KDC_PROFILE=self.kdc_profile)
        with open(os.path.join(self.dir, "kdc.stderr"), "a") as err:
            proc = subprocess.Popen(["krb5kdc", "-n", "-r", self.realm, "-d",
                                     os.path.join(self.dir, "kdc", "principal")],
                                    stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
        self._kdc_proc = proc
        self.kdc_pid = proc.pid
        with open(os.path.join(self.dir, "kdc.started-pid"), "w") as f:
            f.write("%d\n" % proc.pid)  # for stop-named
        probe = os.path.join(self.dir, "kdc-probe.ccache")

        def answers():
            if proc.poll() is not None:
                raise RuntimeError("krb5kdc exited (%d), see %s/kdc.log" % (proc.returncode, self.dir))
            try:
                self.kinit("kms1", probe, timeout=5)
                return True
            except RuntimeError:
                return False
        ok = wait_until(answers, timeout=timeout, step=0.1)
        with contextlib.suppress(OSError):
            os.unlink(probe)
        if not ok:
            self.kdc_stop()
            raise RuntimeError("the KDC did not answer again on 127.0.0.1:%d" % self.kdc_port)

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


# ---- kmsd --------------------------------------------------------------------

class Kmsd:
    """One kmsd process with its own state directory and config file.

    kmsd = Kmsd(tmpdir, extra={"host": {"idle_timeout": "5"}})
    kmsd.start(); kmsd.ctl("status"); kmsd.stop()
    """

    def __init__(self, workdir, extra=None, listen=None, port=None):
        self.workdir = workdir
        self.state_dir = os.path.join(workdir, "state")
        self.config = os.path.join(workdir, "kmsd.conf")
        self.log_path = os.path.join(workdir, "kmsd.log")
        self.port = port or free_port()
        if listen is None:
            listen = ["127.0.0.1:%d" % self.port]
            if have_ipv6():
                listen.append("[::1]:%d" % self.port)
        self.listen = listen
        self.extra = extra or {}
        self.proc = None
        self.logf = None
        self.write_config()

    @property
    def socket_path(self):
        return os.path.join(self.state_dir, "kmsd.sock")

    def write_config(self, extra=None):
        sections = {"host": {"listen": ", ".join(self.listen), "state_dir": self.state_dir,
                             "log_level": "debug"},
                    "dns": {"publish": "no"}}
        for sec, kv in (extra if extra is not None else self.extra).items():
            sections.setdefault(sec, {}).update(kv)
        with open(self.config, "w") as f:
            for sec, kv in sections.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")

    def start(self, args=(), wait=True, timeout=20, env=None, nofile=None):
        """nofile: (soft, hard) RLIMIT_NOFILE for kmsd, as `ulimit -n` would set."""
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([program("kmsd"), "--config", self.config] + list(args),
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=limit if nofile else None)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=20):
        """Poll the control socket until `status` answers (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("kmsd exited with %s during start-up:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.socket_path):
                r = self.ctl("status", check=False, timeout=5)
                if r.returncode == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("kmsd not ready within %ss:\n%s" % (timeout, self.log_tail()))

    def ctl(self, *args, check=True, timeout=15, json=False):
        cmd = [program("kmsctl"), "--socket", self.socket_path, "--timeout", "10"]
        if json:
            cmd.append("--json")
        cmd += list(args)
        r = run(cmd, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("kmsctl %s -> %d: %s\n%s" % (" ".join(args), r.returncode,
                                                               r.stderr.strip(),
                                                               self.log_tail()))
        return r

    def stat(self, name):
        """One counter of the `stats` line of `kmsctl status`, as an int."""
        for line in self.ctl("status").stdout.splitlines():
            if line.startswith("stats "):
                return int(dict(kv.split("=", 1) for kv in line.split()[1:])[name])
        raise AssertionError("no stats line in kmsctl status")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError("kmsd did not stop within %ss:\n%s"
                                     % (timeout, self.log_tail()))
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        if self.logf:
            self.logf.close()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        lines = self.log().splitlines()
        return "--- kmsd log (last %d lines) ---\n%s" % (n, "\n".join(lines[-n:]))

    def wait_log(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False


class KmsdTestCase(unittest.TestCase):
    """Gives each test a temp dir and stops every kmsd it started."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kmsd-test.")
        self.daemons = []
        self._bad_before = self._bad_count()

    def _bad_count(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return 0
        return len(result.failures) + len(result.errors)

    def tearDown(self):
        failed = self._bad_count() != self._bad_before
        outcome = getattr(self, "_outcome", None)
        for _, exc in getattr(outcome, "errors", None) or []:
            if exc:
                failed = True
        self._cleanup(failed)

    def _cleanup(self, failed):
        for d in self.daemons:
            if failed:
                sys.stderr.write(d.log_tail() + "\n")
            with contextlib.suppress(Exception):
                if d.alive():
                    d.kill9()
        if os.environ.get("KMSDNS_KEEP"):
            sys.stderr.write("kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def kmsd(self, name="kmsd", **kw):
        wd = os.path.join(self.tmp, name)
        os.makedirs(wd, exist_ok=True)
        d = Kmsd(wd, **kw)
        self.daemons.append(d)
        return d

    def stop_clean(self, d):
        rc = d.stop()
        self.assertEqual(rc, 0, "kmsd did not exit 0 on SIGTERM:\n" + d.log_tail())


class NamedKmsdTestCase(KmsdTestCase):
    """KmsdTestCase with a private named: self.named(**Named options)
    starts it (self.ns), and it is stopped before the kmsd are cleaned up."""

    def setUp(self):
        super().setUp()
        self.ns = None

    def tearDown(self):
        # named first: its work dir may be inside the test's temp dir, which
        # super().tearDown() removes (stop-named finds the PID there)
        if self.ns is not None:
            self.ns.__exit__(None, None, None)
        super().tearDown()

    def named(self, **kw):
        self.ns = Named(**kw).start()
        return self.ns


def kms_client(host, port, *args, timeout=20):
    """Run tests/tools/kms_client; returns (returncode, dict of key=value lines, raw)."""
    target = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    r = run([program("kms_client")] + list(args) + [target], timeout=timeout)
    kv = {}
    for line in r.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            kv[k.strip()] = v.strip()
    return r.returncode, kv, r


def connect(host, port, timeout=5):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def wait_closed(sock, timeout):
    """True when the peer closes @sock within @timeout seconds."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
            if not data:
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


# ---- DCE/RPC bytes for raw-socket tests (C706 ch. 12) -----------------------

KMS_IFACE = uuid.UUID("51c82175-844e-4750-b0d8-ec255555bc06")
NDR32 = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
NDR64 = uuid.UUID("71710533-beba-4937-8319-b5dbef9ccc36")
BTFN = uuid.UUID("6cb71c2c-9812-4540-0300-000000000000")

PTYPE_REQUEST, PTYPE_RESPONSE, PTYPE_FAULT = 0, 2, 3
PTYPE_BIND, PTYPE_BIND_ACK, PTYPE_BIND_NAK = 11, 12, 13


def rpc_header(ptype, body_len, call_id=1, flags=0x03):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\x00\x00\x00",
                       16 + body_len, 0, call_id)


def bind_pdu(contexts=None, call_id=1):
    """A bind PDU; @contexts is a list of transfer-syntax UUIDs (one context each).
    Default: NDR32 only.  Windows binds with [NDR32, NDR64, BTFN]."""
    contexts = contexts or [NDR32]
    body = struct.pack("<HHIBBH", 5840, 5840, 0, len(contexts), 0, 0)
    for i, ts in enumerate(contexts):
        ver = 2 if ts == NDR32 else 1
        body += struct.pack("<HBB", i, 1, 0)
        body += KMS_IFACE.bytes_le + struct.pack("<HH", 1, 0)
        body += ts.bytes_le + struct.pack("<I", ver)
    return rpc_header(PTYPE_BIND, len(body), call_id) + body


def request_pdu(stub, call_id=2, opnum=0, cont_id=0):
    """A single-fragment request PDU carrying @stub."""
    body = struct.pack("<IHH", len(stub), cont_id, opnum) + stub
    return rpc_header(PTYPE_REQUEST, len(body), call_id) + body


def act_stub(message):
    """An opnum-0 request stub (NDR: size, max_count, bytes) around @message."""
    return struct.pack("<II", len(message), len(message)) + message


def response_hresult(pdu):
    """The HRESULT that ends the stub of a single-fragment response PDU."""
    return struct.unpack_from("<I", pdu, len(pdu) - 4)[0]


def fault_status(pdu):
    return struct.unpack_from("<I", pdu, 24)[0]


def bind_ack_sec_addr(pdu):
    """The secondary address (port string) of a bind_ack PDU."""
    n = struct.unpack_from("<H", pdu, 24)[0]
    return pdu[26:26 + n].rstrip(b"\0").decode("ascii")


def read_pdu(sock, timeout=5):
    """Read one whole PDU; returns (ptype, bytes) or (None, b'') on close."""
    sock.settimeout(timeout)
    buf = b""
    while len(buf) < 16:
        d = sock.recv(16 - len(buf))
        if not d:
            return None, buf
        buf += d
    flen = struct.unpack_from("<H", buf, 8)[0]
    while len(buf) < flen:
        d = sock.recv(flen - len(buf))
        if not d:
            return None, buf
        buf += d
    return buf[2], buf


def bind_ok(host, port, timeout=5):
    """Connect, bind with NDR32, return True on a bind_ack accepting context 0."""
    with connect(host, port, timeout) as s:
        s.sendall(bind_pdu())
        ptype, pdu = read_pdu(s, timeout)
        return ptype == PTYPE_BIND_ACK


# ---- kms-locate ----------------------------------------------------------------

def locate(ns_or_server, *args, timeout=30, json_out=True):
    """Run kms-locate against a Named (or a "IP:PORT" string);
    returns (exit code, parsed JSON or text, stderr)."""
    server = ns_or_server if isinstance(ns_or_server, str) else ns_or_server.server
    argv = [program("kms-locate"), "--server", server]
    if json_out:
        argv.append("--json")
    argv += list(args)
    out = run(argv, timeout=timeout)
    data = None
    if json_out and out.stdout.strip():
        data = json.loads(out.stdout)
    return out.returncode, (data if json_out else out.stdout), out.stderr


class Listener:
    """tests/tools/locate_listener on ADDR (a KMS RPC endpoint)."""

    def __init__(self, addr, seconds=60, count=50):
        self.argv = [program("locate_listener"), addr, "0", str(seconds), str(count)]
        self.proc = None
        self.port = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("port="):
            self.proc.kill()
            raise RuntimeError("locate_listener did not start: %r" % line)
        self.port = int(line.split("=", 1)[1])
        return self

    def stop(self):
        """Stop; returns the number of connections it accepted."""
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=10)
        self.proc = None
        for line in out.split("\n"):
            if line.startswith("connections="):
                return int(line.split("=", 1)[1])
        return 0

    def __exit__(self, *exc):
        self.stop()
        return False


class _Background:
    """A helper serving from a thread of its own (self._t, polling
    self._stop): started on enter, stopped on exit (bounded), then
    _closed()."""

    def _closed(self):
        pass

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._t.join(timeout=5)
        self._closed()
        return False


class FakeDNS(_Background):
    """A UDP DNS responder on 127.0.0.1 that answers every query with a fixed
    rcode (e.g. 2 = SERVFAIL), or never answers (rcode=None)."""

    def __init__(self, rcode):
        self.rcode = rcode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.server = "127.0.0.1:%d" % self.port
        self.queries = 0
        self._stop = False
        self._t = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            self.queries += 1
            if self.rcode is None:
                continue
            qid, flags, qd = struct.unpack(">HHH", data[:6])
            # echo the question, QR=1, RD copied, RA=0, the rcode; no records
            end = 12
            while end < len(data) and data[end] != 0:
                end += data[end] + 1
            question = data[12:end + 5]
            hdr = struct.pack(">HHHHHH", qid, 0x8000 | (flags & 0x0100) | self.rcode, 1, 0, 0, 0)
            self.sock.sendto(hdr + question, peer)

    def _closed(self):
        self.sock.close()


class TcpRelay(_Background):
    """A TCP relay on 127.0.0.1 (a free port) to 127.0.0.1:target: bytes
    pass unchanged both ways (a TLS session is end to end through it).
    It counts the connections it accepted (connections) and can cut every
    open one (cut(): both sides closed, as a server restart or a
    middlebox does); with cut_after=N it cuts the first connection by
    itself once N bytes came back from the target on it (a server that
    closes the session mid-run, at a reproducible point); bounded, one
    thread, stopped on exit.

        with harness.TcpRelay(ns.tls_port) as relay:
            kms_publish(..., "--server", relay.server, ...)
            harness.check(relay.connections == 1, "one connection")
    """

    def __init__(self, target, host="127.0.0.1", cut_after=None):
        self.target = (host, int(target))
        self.cut_after = cut_after
        self.cuts = 0      # connections cut by cut_after
        self._first = None  # the first connection's upstream socket
        self._back = 0      # bytes it brought back
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(128)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.server = "%s:%d" % (host, self.port)
        self.connections = 0
        self._pairs = {}  # socket -> its peer socket
        self._lock = threading.Lock()
        self._cut = False
        self._stop = False
        self._t = threading.Thread(target=self._serve, daemon=True)

    def _close(self, sel, sock):
        for s in (sock, self._pairs.get(sock)):
            if s is None:
                continue
            self._pairs.pop(s, None)
            with contextlib.suppress(Exception):
                sel.unregister(s)
            with contextlib.suppress(OSError):
                s.close()

    def _serve(self):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.lsock, selectors.EVENT_READ)
        while not self._stop:
            if self._cut:
                for sock in list(self._pairs):
                    self._close(sel, sock)
                self._cut = False
            for key, _ in sel.select(0.05):
                sock = key.fileobj
                if sock is self.lsock:
                    try:
                        c, _ = self.lsock.accept()
                    except OSError:
                        continue
                    with self._lock:
                        self.connections += 1
                    try:
                        u = socket.create_connection(self.target, timeout=5)
                    except OSError:
                        c.close()
                        continue
                    if self._first is None:
                        self._first = u
                    for a, b in ((c, u), (u, c)):
                        a.setblocking(True)
                        a.settimeout(5)
                        self._pairs[a] = b
                        sel.register(a, selectors.EVENT_READ)
                    continue
                if sock not in self._pairs:
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._close(sel, sock)
                    continue
                try:
                    self._pairs[sock].sendall(data)
                except OSError:
                    self._close(sel, sock)
                    continue
                if sock is self._first and self.cut_after is not None:
                    self._back += len(data)
                    if self._back >= self.cut_after:
                        self._first = False  # once
                        self.cuts += 1
                        self._close(sel, sock)
        for sock in list(self._pairs):
            self._close(sel, sock)
        sel.close()
        self.lsock.close()

    def cut(self):
        """Close every open connection (both sides), within about 50 ms."""
        self._cut = True
        wait_until(lambda: not self._cut, timeout=5, step=0.01)

    def open_connections(self):
        return len(self._pairs) // 2


def srv_update(ns, lines):
    """Apply 'update ...' lines with nsupdate and fail loudly if refused."""
    out = ns.nsupdate("\n".join(lines))
    if out.returncode != 0:
        raise RuntimeError("nsupdate failed: %s %s" % (out.stdout, out.stderr))


def publish(ns, target, port=1688, priority=0, weight=0, domain="kms.test", verb="publish"):
    """Publish (or unpublish) one host's SRV record with kms-publish, signed
    with the test named's key, as an administrator would."""
    out = kms_publish(verb, "--server", ns.server, "--key", ns.key_file,
                      "--domain", "%s %d %d" % (domain, priority, weight), "--target", target,
                      "--port", port, "--ttl", 60)
    if out.returncode != 0:
        raise RuntimeError("kms-publish %s failed: %s %s" % (verb, out.stdout, out.stderr))
