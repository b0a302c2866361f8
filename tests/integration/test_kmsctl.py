#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kmsctl against a real kmsd: every verb, --json, persistence, bad input."""

import json
import os
import shutil
import time

import harness
from harness import EXAMPLE_KEY, EXAMPLE_KEY2, OFFICE_ACTID, kms_client


def status_map(text):
    """'port 1688 source=verb' lines -> {'port': '1688 source=verb', ...}."""
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        out.setdefault(k, v)
    return out


class Kmsctl(harness.KmsdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.kmsd().start()

    def test_every_verb_round_trip(self):
        d = self.d
        st = status_map(d.ctl("status").stdout)
        for key in ("port", "activation_interval", "renewal_interval", "publish", "priority",
                    "weight", "domains", "decommissioned", "stats"):
            self.assertIn(key, st)
        # ipk (default slot and an Office product by activation ID), dli, ato.
        r = d.ctl("ipk", EXAMPLE_KEY)
        self.assertIn("6789B", r.stdout)
        self.assertNotIn(EXAMPLE_KEY, r.stdout)
        d.ctl("ipk", EXAMPLE_KEY2, OFFICE_ACTID, "--family", "office")
        dli = d.ctl("dli", "all").stdout
        self.assertIn("6789B", dli)
        self.assertIn("HJKMP", dli)
        self.assertNotIn(EXAMPLE_KEY, dli)
        self.assertNotIn(EXAMPLE_KEY2, dli)
        self.assertIn("enabled=no", d.ctl("dli").stdout)
        d.ctl("ato")
        self.assertIn("enabled=yes", d.ctl("dli").stdout)
        d.ctl("ato", OFFICE_ACTID)
        rc, kv, r = kms_client("127.0.0.1", d.port, "--app", "office")
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        # upk removes the Office product: no longer served.
        d.ctl("upk", OFFICE_ACTID)
        self.assertNotIn("HJKMP", d.ctl("dli", "all").stdout)
        rc, kv, r = kms_client("127.0.0.1", d.port, "--app", "office")
        self.assertEqual(kv.get("status"), "0xC004F042", r.stdout)
        # Settings.
        d.ctl("sprt", "1700")
        d.ctl("sai", "60")
        d.ctl("sri", "2h")
        d.ctl("sprio", "5")
        d.ctl("sweight", "20")
        d.ctl("sdomains", "kms.test, corp.test 10 50")
        d.ctl("sdns")
        st = status_map(d.ctl("status").stdout)
        self.assertTrue(st["port"].startswith("1700"), st["port"])
        self.assertTrue(st["activation_interval"].startswith("60 "), st)
        self.assertTrue(st["renewal_interval"].startswith("120 "), st)
        self.assertTrue(st["priority"].startswith("5 "), st)
        self.assertTrue(st["weight"].startswith("20 "), st)
        self.assertIn("corp.test", st["domains"])
        self.assertTrue(st["publish"].startswith("yes"), st)
        # Intervals reach the clients.
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("activation_interval"), "60", r.stdout)
        self.assertEqual(kv.get("renewal_interval"), "120", r.stdout)
        d.ctl("cdns")
        self.assertTrue(status_map(d.ctl("status").stdout)["publish"].startswith("no"))
        d.ctl("decommission")
        self.assertTrue(status_map(d.ctl("status").stdout)["decommissioned"].startswith("yes"))
        self.stop_clean(d)
        # kmsd logs at debug here; a product key never reaches its log.
        log = d.log()
        self.assertIn("control: ipk", log)
        for key in (EXAMPLE_KEY, EXAMPLE_KEY2):
            self.assertNotIn(key, log)
            self.assertNotIn(key.replace("-", ""), log)

    def test_json(self):
        d = self.d
        d.ctl("ipk", EXAMPLE_KEY)
        for verb in ("status", "dli", "ato", "sai"):
            args = [verb] + (["90"] if verb == "sai" else [])
            r = d.ctl(*args, json=True)
            doc = json.loads(r.stdout)
            self.assertIsInstance(doc, dict)
        doc = json.loads(d.ctl("dli", json=True).stdout)
        self.assertEqual(doc["products"][0]["partial_key"], "6789B")
        doc = json.loads(d.ctl("sai", "90", json=True).stdout)
        self.assertTrue(doc["ok"])
        # An error in JSON mode: JSON on stdout, one line on stderr, exit 1.
        r = d.ctl("upk", OFFICE_ACTID, json=True, check=False)
        self.assertEqual(r.returncode, 1)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["ok"])
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.stop_clean(d)

    def test_state_survives_restart(self):
        d = self.d
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        d.ctl("sai", "45")
        d.ctl("sweight", "7")
        kms_client("127.0.0.1", d.port)
        self.stop_clean(d)
        d.start()
        st = status_map(d.ctl("status").stdout)
        self.assertTrue(st["activation_interval"].startswith("45 "), st)
        self.assertTrue(st["weight"].startswith("7 "), st)
        self.assertIn("enabled=yes", d.ctl("dli").stdout)
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        # The ledger was flushed at the clean stop: the second client counts 2.
        self.assertEqual(kv.get("current_count"), "2", r.stdout)
        self.stop_clean(d)

    def test_sprt_moves_portless_listen_addresses_at_next_start(self):
        d = self.d
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        new_port = harness.free_port()
        self.assertIn("port %d" % new_port, d.ctl("sprt", str(new_port)).stdout)
        self.stop_clean(d)
        # the same host, now listed without a port: it takes the sprt port
        old_port = d.port
        d.listen = ["127.0.0.1"]
        d.write_config()
        d.start()
        d.port = new_port
        self.assertIn("listening on 127.0.0.1:%d" % new_port, d.log())
        self.assertTrue(status_map(d.ctl("status").stdout)["port"].startswith("%d " % new_port))
        rc, kv, r = kms_client("127.0.0.1", new_port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        rc, kv, r = kms_client("127.0.0.1", old_port)
        self.assertNotEqual(rc, 0, "nothing listens on the old port any more")
        # a port written in the address still wins over sprt
        self.stop_clean(d)
        d.listen = ["127.0.0.1:%d" % old_port]
        d.write_config()
        d.start()
        d.port = old_port
        rc, kv, r = kms_client("127.0.0.1", old_port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(d)

    def test_bad_arguments(self):
        d = self.d
        # Bad usage the host detects (unknown verb, wrong or out-of-range
        # arguments): exit 2, like kmsctl's own usage errors.
        cases = [("ipk", "not-a-key"), ("sai", "5"), ("sprt", "0"), ("sprt", "x"),
                 ("upk",), ("frobnicate",), ("sweight", "70000"), ("dli", "zzz"),
                 ("status", "extra"), ("sai", "--json")]
        for args in cases:
            r = d.ctl(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (args, r.stderr))
            self.assertTrue(lines[0].startswith("kmsctl: "), lines)
        self.assertIn("unknown verb 'frobnicate'", d.ctl("frobnicate", check=False).stderr)
        # Well-formed commands the host refuses in its current state: exit 1.
        self.assertEqual(d.ctl("upk", OFFICE_ACTID, check=False).returncode, 1)
        self.assertEqual(d.ctl("ato", check=False).returncode, 1)  # no key installed
        d.ctl("decommission")
        r = d.ctl("sdns", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        # Usage errors of kmsctl itself.
        for args in (["--bogus", "status"], [], ["--timeout", "x", "status"]):
            r = harness.run([harness.program("kmsctl")] + args, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        # The daemon is still fine.
        d.ctl("status")
        self.stop_clean(d)

    def test_socket_resolution_and_unreachable(self):
        d = self.d
        # --config and --state-dir find the same socket.
        for opt in (["--config", d.config], ["--state-dir", d.state_dir]):
            r = harness.run([harness.program("kmsctl")] + opt + ["status"], timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(d.socket_path).st_mode & 0o777, 0o600)
        self.stop_clean(d)
        r = harness.run([harness.program("kmsctl"), "--socket", d.socket_path, "status"],
                        timeout=10)
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot connect to %s" % d.socket_path, r.stderr)
        self.assertIn("is kmsd running?", r.stderr)

    def test_socket_of_another_user(self):
        """A user the socket's mode shuts out is told so, not asked whether
        kmsd runs (it does)."""
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or not setpriv:
            self.skipTest("needs root and setpriv to act as another user")
        d = self.d
        r = harness.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                         harness.program("kmsctl"), "--socket", d.socket_path, "status"],
                        timeout=10)
        if r.returncode in (126, 127):
            self.skipTest("kmsctl cannot be run as uid 65534 here: " + r.stderr.strip())
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stderr.strip(), "kmsctl: cannot connect to %s: Permission denied "
                         "(run kmsctl as kmsd's user or root)" % d.socket_path)
        d.ctl("status")
        self.stop_clean(d)

    def test_help_lists_every_verb(self):
        r = harness.run([harness.program("kmsctl"), "--help"], timeout=10)
        self.assertEqual(r.returncode, 0)
        for verb in ("status", "dli", "ipk", "upk", "ato", "sprt", "sai", "sri", "sdns", "cdns",
                     "sprio", "sweight", "sdomains", "decommission"):
            self.assertRegex(r.stdout, r"(?m)^  %s\b" % verb)
        self.stop_clean(self.d)

    def test_control_line_length_boundary(self):
        """274448 bytes (without the newline) are a line - room for the
        longest domain list a configuration holds; 274449 are refused and
        the connection closed."""
        import socket
        d = self.d
        limit = 274448

        def exchange(data):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(d.socket_path)
                s.sendall(data + b"status\n")
                out = b""
                while out.count(b"\n") < 2 or (out.startswith(b"OK") and b"\nstats " not in out):
                    chunk = s.recv(65536)
                    if not chunk:
                        return out, True
                    out += chunk
                # The connection stayed: the trailing status was answered too.
                return out, False

        status_max = b"status" + b" " * (limit - 6)
        for line in (status_max + b"\n", status_max + b"\r\n"):
            out, closed = exchange(line)
            self.assertTrue(out.startswith(b"OK "), out[:80])
            self.assertFalse(closed)
        out, closed = exchange(b"x" * limit + b"\n")
        self.assertTrue(out.startswith(b"ERR KMS_EINVAL unknown verb"), out[:80])
        self.assertFalse(closed)
        for line in (b"x" * (limit + 1) + b"\n", b"x" * (limit + 1) + b"\r\n",
                     status_max + b" \n"):
            out, closed = exchange(line)
            self.assertEqual(out, b"ERR KMS_ETOOBIG line longer than %d bytes\n" % limit)
            self.assertTrue(closed)
        d.ctl("status")
        self.stop_clean(d)

    def test_sdomains_takes_every_list_a_config_can_hold(self):
        """1024 domains of 253 characters, with priority and weight: through
        kmsctl's arguments, and one per line from a file (--file) or stdin;
        kmsctl refuses one byte more than kmsd takes, saying the limit."""
        d = self.d

        def name(i):  # 253 characters: 3 x 63 + 61, dots between
            tag = "d%04d" % i
            return ".".join([tag + "a" * 58, "b" * 63, "c" * 63, "e" * 56 + ".test"])

        names = [name(i) for i in range(1024)]
        self.assertEqual({len(n) for n in names}, {253})
        entries = ["%s 65535 65535" % n for n in names]
        # as arguments (each under the kernel's 128 KiB per argument)
        args = [", ".join(entries[i:i + 256]) + ("," if i + 256 < 1024 else "")
                for i in range(0, 1024, 256)]
        r = d.ctl("sdomains", *args)
        self.assertEqual(r.returncode, 0, r.stderr[:300])
        st = d.ctl("status").stdout
        self.assertIn(names[0], st)
        self.assertIn(names[-1], st)
        self.assertEqual(st.count(".test 65535 65535"), 1024)
        # one per line from a file, then from stdin
        path = os.path.join(self.tmp, "domains.txt")
        with open(path, "w") as f:
            f.write("# publish domains\n\n" + "\n".join(entries[:3]) + "\n")
        r = d.ctl("sdomains", "--file", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "domains " + ", ".join(entries[:3]))
        r = harness.run([harness.program("kmsctl"), "--socket", d.socket_path, "sdomains",
                         "--file", "-"], input="\n".join(entries) + "\n", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr[:300])
        self.assertEqual(d.ctl("status").stdout.count(".test 65535 65535"), 1024)
        # a list too long to read whole is refused, never sent cut short
        big = "a.test\n" + "#" * 600000 + "\nz.test\n"
        r = harness.run([harness.program("kmsctl"), "--socket", d.socket_path, "sdomains",
                         "--file", "-"], input=big, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.strip(), "kmsctl: -: input too large")
        self.assertEqual(d.ctl("status").stdout.count(".test 65535 65535"), 1024)
        # kmsctl and kmsd agree on the limit
        # "sdomains " + 120000 + " " + 120000 + " " + rest: 274449 bytes, then 274448
        piece = "x" * 120000
        r = d.ctl("sdomains", piece, piece, "x" * 34438, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "kmsctl: command longer than 274448 bytes")
        r = d.ctl("sdomains", piece, piece, "x" * 34437, check=False)
        self.assertEqual(r.returncode, 2)  # sent; kmsd says the list is bad
        self.assertIn("is not a valid domain name", r.stderr)
        self.stop_clean(d)

    def test_control_socket_robustness(self):
        import socket
        d = self.d
        # A line over 274448 bytes: ERR and the connection is closed.
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(d.socket_path)
            s.sendall(b"x" * 280000)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"ERR "), data)
        # Clients that vanish mid-command, several at once.
        socks = []
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX)
            s.connect(d.socket_path)
            s.sendall(b"status\n")
            socks.append(s)
        for s in socks:
            s.close()
        # Two lines on one connection get two replies in order.
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(d.socket_path)
            s.sendall(b"sai 30\nsri 60\n")
            data = b""
            while data.count(b"\n") < 4:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"OK "), data)
        d.ctl("status")
        # A client that pipelines many commands before reading any answer
        # (more than 1 MiB of replies): every answer arrives, in order.
        n = 3000
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(20)
            s.connect(d.socket_path)
            s.sendall(b"status\n" * n)
            data = b""
            deadline = time.monotonic() + 30
            while data.count(b"\nstats ") < n and time.monotonic() < deadline:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
            self.assertGreater(len(data), 1 << 20)
            self.assertEqual(data.count(b"\nstats "), n)
            self.assertTrue(data.startswith(b"OK "))
        # A second kmsd with its own state dir refuses to take the socket.
        def refused(name, extra):
            other = harness.Kmsd(os.path.join(self.tmp, name), port=harness.free_port())
            other.extra = {"host": extra}
            other.write_config()
            other.start(wait=False)
            rc = other.proc.wait(20)
            other.logf.close()
            self.assertNotEqual(rc, 0, other.log())
            return other.log()

        os.makedirs(os.path.join(self.tmp, "other1"))
        log = refused("other1", {"control_socket": d.socket_path})
        self.assertIn("another kmsd is already using %s" % d.socket_path, log)
        # One on the same state dir, with its own socket, refuses to start:
        # one line naming the directory and the PID holding it.
        d.ctl("ipk", EXAMPLE_KEY)
        os.makedirs(os.path.join(self.tmp, "other2"))
        log = refused("other2", {"state_dir": d.state_dir,
                                 "control_socket": os.path.join(self.tmp, "other2", "k.sock")})
        self.assertIn("%s is in use by another kmsd (PID %d)" % (d.state_dir, d.proc.pid), log)
        self.assertEqual(len(log.strip().splitlines()), 1, log)
        self.assertIn("6789B", d.ctl("dli").stdout)
        d.ctl("status")
        self.stop_clean(d)


if __name__ == "__main__":
    harness.main()
