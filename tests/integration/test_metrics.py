# SPDX-License-Identifier: MIT
"""kmsd's counters for Prometheus: `kmsctl metrics` and [host] metrics_file.

Covers: the output passes `promtool check metrics`; counters move as a
client activates (activations ok, connections) and as a malformed request
comes in; the client count per KMS counted ID and the DNS state per domain
are there; metrics_file is replaced atomically (a new inode each time, no
reader ever sees a partial file, no temp file left), written again at stop.
"""
import os
import re
import shutil
import socket
import subprocess
import time

import harness
from harness import EXAMPLE_KEY, kms_client, wait_until


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


class Metrics(harness.KmsdTestCase):
    def promtool(self, text):
        if not shutil.which("promtool"):
            self.skipTest("promtool not installed (scripts/install-deps: prometheus)")
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_kmsctl_metrics_and_the_file(self):
        path = os.path.join(self.tmp, "kmsd.prom")
        d = self.kmsd(extra={"host": {"metrics_file": path, "metrics_interval": "1"},
                             "dns": {"publish": "yes", "domains": "kms.test",
                                     "server": "127.0.0.1:9"}}).start()
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        before = samples(d.ctl("metrics").stdout)
        self.assertEqual(before['kmsd_activations_total{result="ok"}'], 0)

        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        # a malformed request: an RPC header of version 4 (DCE/RPC is 5)
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(b"\x04\x00\x0b\x03\x10\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00")
            s.settimeout(5)
            try:
                s.recv(100)
            except OSError:
                pass
        text = d.ctl("metrics").stdout
        self.promtool(text)
        after = samples(text)
        self.assertEqual(after['kmsd_activations_total{result="ok"}'], 1)
        self.assertGreaterEqual(after["kmsd_connections_total"],
                                before["kmsd_connections_total"] + 2)
        self.assertEqual(after["kmsd_requests_malformed_total"],
                         before["kmsd_requests_malformed_total"] + 1)
        counts = [k for k in after if k.startswith("kmsd_ledger_clients{kms_counted_id=")]
        self.assertEqual(len(counts), 1, counts)
        self.assertEqual(after[counts[0]], 1)
        self.assertIn('kmsd_info{version="', text)
        # the DNS run to a server that never answers has failed once by now
        self.assertTrue(wait_until(lambda: samples(d.ctl("metrics").stdout).get(
            'kmsd_dns_last_failure_timestamp_seconds{domain="kms.test"}', 0) > 0, timeout=30),
            d.ctl("metrics").stdout)

        # the file: the same families, replaced whole every second
        self.assertTrue(wait_until(lambda: os.path.exists(path), timeout=5))
        inodes, reads = set(), 0
        t_end = time.monotonic() + 3.5
        while time.monotonic() < t_end:
            with open(path) as f:
                content = f.read()
                inodes.add(os.fstat(f.fileno()).st_ino)
            reads += 1
            # never a partial file: it ends where the last family ends
            self.assertTrue(content.endswith("\n") and "kmsd_dns_published" in content,
                            content[-200:])
        self.promtool(content)
        self.assertEqual(samples(content)['kmsd_activations_total{result="ok"}'], 1)
        self.assertGreaterEqual(len(inodes), 3, "rewritten each second")
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o644")
        left = [n for n in os.listdir(self.tmp) if n.startswith("kmsd.prom") and n != "kmsd.prom"]
        self.assertEqual(left, [], "temp files left")

        # written once more at stop: the last counters
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.stop_clean(d)
        with open(path) as f:
            self.assertEqual(samples(f.read())['kmsd_activations_total{result="ok"}'], 2)

    def test_unwritable_metrics_file_is_said_once(self):
        d = self.kmsd(extra={"host": {"metrics_file": "/nonexistent-dir/kmsd.prom",
                                      "metrics_interval": "1"}}).start()
        time.sleep(2.5)
        lines = [l for l in d.log().splitlines() if "metrics_file" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"warning: cannot write metrics_file /nonexistent-dir/kmsd"
                         r"\.prom: .* \(retrying every 1 s\)")
        self.assertIn("kmsd_connections_total", d.ctl("metrics").stdout)
        self.stop_clean(d)


if __name__ == "__main__":
    harness.main()
