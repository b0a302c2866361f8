#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kill -9 at random moments while state changes: kmsd always restarts with
whole state (old or new, never torn), and kmsctl dli answers."""

import random
import subprocess
import threading
import time

import harness
from harness import EXAMPLE_KEY, EXAMPLE_KEY2, OFFICE_ACTID, kms_client

ROUNDS = 20


def status_of(d):
    """kmsctl status as {key: rest of the line}."""
    return dict(l.split(" ", 1) for l in d.ctl("status").stdout.splitlines() if " " in l)


class CrashState(harness.KmsdTestCase):
    def test_kill9_during_state_changes(self):
        rnd = random.Random(1688)
        d = self.kmsd(extra={"host": {"ledger_flush": "1"}}).start()
        cmds = [["ipk", EXAMPLE_KEY], ["ato"], ["sai", "30"], ["sai", "60"], ["sri", "900"],
                ["sweight", "3"], ["sprio", "4"], ["sdomains", "a.test, b.test 1 2"],
                ["ipk", EXAMPLE_KEY2, OFFICE_ACTID, "--family", "office"], ["ato", OFFICE_ACTID],
                ["upk", OFFICE_ACTID], ["sdns"], ["cdns"]]
        base = [harness.program("kmsctl"), "--socket", d.socket_path, "--timeout", "5"]
        for rnd_i in range(ROUNDS):
            # A burst of commands in the background, killed part-way.
            script = "; ".join(" ".join(base + c) + " >/dev/null 2>&1" for c in
                               [rnd.choice(cmds) for _ in range(30)])
            burst = subprocess.Popen(["sh", "-c", script])
            kms_client("127.0.0.1", d.port)
            time.sleep(rnd.uniform(0.0, 0.3))
            d.kill9()
            burst.wait(30)
            d.start()
            r = d.ctl("dli", "all", check=False)
            self.assertIn(r.returncode, (0, 1), "round %d: %s" % (rnd_i, r.stderr))
            st = d.ctl("status")
            self.assertIn("activation_interval", st.stdout)
        # After the storm, the host still takes and keeps changes.
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(d)

    def test_acknowledged_changes_survive_100_kill9(self):
        """100 rounds: settings changed one after another (each acknowledged
        OK before the next is sent), activations in flight, kill -9 at a
        random moment.  After each restart the setting is the last one
        acknowledged or the one in flight - never older - and the host
        serves.  Bounded: at most 40 commands and 10 s a round."""
        rnd = random.Random(2136)
        d = self.kmsd(extra={"host": {"ledger_flush": "1"}}).start()
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        ctl = [harness.program("kmsctl"), "--socket", d.socket_path, "--timeout", "5"]
        last = 120  # the value kmsd must still have (the default, before any sai)
        for rnd_i in range(100):
            acked, sent, stop = [], [], threading.Event()

            def changes(first=100 + rnd_i * 50):
                for k in range(40):
                    if stop.is_set():
                        return
                    v = first + k
                    sent.append(v)
                    r = subprocess.run(ctl + ["sai", str(v)], capture_output=True, timeout=10)
                    if r.returncode != 0:
                        return  # kmsd is gone: v may or may not have been written
                    acked.append(v)

            def activations():
                while not stop.is_set():
                    kms_client("127.0.0.1", d.port, timeout=10)

            threads = [threading.Thread(target=changes), threading.Thread(target=activations)]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(0.02, 0.4))
            d.kill9()
            stop.set()
            for t in threads:
                t.join(15)
            d.start()
            st = status_of(d)
            allowed = {acked[-1] if acked else last}
            if len(sent) > len(acked):
                allowed.add(sent[len(acked)])  # in flight when kmsd died
            got = int(st["activation_interval"].split()[0])
            self.assertIn(got, allowed, "round %d: acked %s, sent %s" % (rnd_i, acked, sent))
            last = got
            self.assertIn("enabled=yes", d.ctl("dli").stdout, "round %d" % rnd_i)
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(d)

    def test_stale_temp_files_removed_at_start(self):
        """A kill -9 between writing a state temp file and renaming it leaves
        inventory.tmp.<pid> (whole keys in it): the next start removes it,
        logs it, and the state is the last one written."""
        import os
        d = self.kmsd().start()
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        d.kill9()
        gone = subprocess.Popen(["true"])
        gone.wait()
        stale = os.path.join(d.state_dir, "inventory.tmp.%d" % gone.pid)
        with open(os.path.join(d.state_dir, "inventory"), "rb") as f, open(stale, "wb") as t:
            t.write(f.read()[:40])  # a torn copy, as a write cut short leaves it
        os.chmod(stale, 0o600)
        other = os.path.join(d.state_dir, "notes.tmp.%d" % gone.pid)  # not our name
        with open(other, "w") as t:
            t.write("keep me")
        d.start()
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(other))
        self.assertIn("removed %s" % stale, d.log())
        self.assertIn("enabled=yes", d.ctl("dli").stdout)
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(d)

    def test_ledger_flushed_on_timer(self):
        """Counts reach the disk every ledger_flush seconds, not only at a clean stop."""
        d = self.kmsd(extra={"host": {"ledger_flush": "1"}}).start()
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        for i in range(3):
            rc, kv, r = kms_client("127.0.0.1", d.port, "--client-id",
                                   "00000000-0000-0000-0000-00000000000%d" % (i + 1))
            self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        time.sleep(2.5)
        d.kill9()
        d.start()
        rc, kv, r = kms_client("127.0.0.1", d.port, "--client-id",
                               "00000000-0000-0000-0000-000000000009")
        self.assertEqual(kv.get("current_count"), "4", r.stdout)
        self.stop_clean(d)


if __name__ == "__main__":
    harness.main()
