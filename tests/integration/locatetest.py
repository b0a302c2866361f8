"""Helpers for the kms-locate integration tests (stdlib only).

    from locatetest import locate, Listener, FakeDNS
    r = locate(ns, "--domain", "kms.test")      # -> (exit code, parsed JSON, stderr)
"""

import json
import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnstest import program, run  # noqa: E402


def locate(ns_or_server, *args, timeout=30, json_out=True):
    """Run kms-locate against a Named (or a "IP:PORT" string)."""
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


def free_port(addr="127.0.0.1", kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind((addr, 0))
    p = s.getsockname()[1]
    s.close()
    return p


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


class FakeDNS:
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

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._t.join(timeout=5)
        self.sock.close()
        return False


def srv_update(ns, lines):
    """Apply 'update ...' lines with nsupdate and fail loudly if refused."""
    out = ns.nsupdate("\n".join(lines))
    if out.returncode != 0:
        raise RuntimeError("nsupdate failed: %s %s" % (out.stdout, out.stderr))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def publish(ns, target, port=1688, priority=0, weight=0, domain="kms.test", verb="publish"):
    """Publish (or unpublish) one host's SRV record with kms-publish, signed
    with the test named's key, as an administrator would."""
    argv = [program("kms-publish"), verb, "--server", ns.server, "--key", ns.key_file,
            "--domain", "%s %d %d" % (domain, priority, weight), "--target", target,
            "--port", str(port), "--ttl", "60"]
    out = run(argv, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("kms-publish %s failed: %s %s" % (verb, out.stdout, out.stderr))
