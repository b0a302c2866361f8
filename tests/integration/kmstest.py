"""kmstest - helpers for the kmsd/kmsctl integration tests (python3 stdlib only).

The tests find the programs through KMSDNS_BUILD (the build directory) and
the sources through KMSDNS_SRC.  Every wait is bounded; every process a test
starts is stopped (SIGTERM, then SIGKILL) and every temporary directory is
removed, also when the test fails.  Traffic stays on 127.0.0.1 and ::1.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("KMSDNS_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
SRC = os.environ.get("KMSDNS_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")

# A format-valid 5x5 example key (not a real product key).
EXAMPLE_KEY = "BCDFG-HJKMP-QRTVW-XY234-6789B"
EXAMPLE_KEY2 = "QRTVW-XY234-6789B-BCDFG-HJKMP"
OFFICE_ACTID = "d450596f-894d-49e0-966a-fd39ed4c4c64"


def prog(name):
    """Path of a program of the build (kmsd, kmsctl, tests/tools helpers)."""
    for sub in ("bin", ""):
        p = os.path.join(BUILD, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise unittest.SkipTest("program %s not built in %s" % (name, BUILD))


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port free on @host right now (and on ::1 too when available)."""
    for _ in range(50):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if have_ipv6():
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port found")


_ipv6 = None


def have_ipv6():
    global _ipv6
    if _ipv6 is None:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(("::1", 0))
            _ipv6 = True
        except OSError:
            _ipv6 = False
    return _ipv6


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

    def start(self, args=(), wait=True, timeout=20, env=None):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([prog("kmsd"), "--config", self.config] + list(args),
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
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
        cmd = [prog("kmsctl"), "--socket", self.socket_path, "--timeout", "10"]
        if json:
            cmd.append("--json")
        cmd += list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
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
        self.tmp = tempfile.mkdtemp(prefix="kmstest-")
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


def kms_client(host, port, *args, timeout=20):
    """Run tests/tools/kms_client; returns (returncode, dict of key=value lines, raw)."""
    target = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    cmd = [prog("kms_client")] + list(args) + [target]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
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


def main():
    unittest.main(verbosity=2)


# ---- DCE/RPC bytes for raw-socket tests (C706 ch. 12) -----------------------

import struct  # noqa: E402
import uuid  # noqa: E402

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
