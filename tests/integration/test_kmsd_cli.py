#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kmsd's command line: help, version, bad configuration, SIGHUP reload."""

import os
import signal

import harness
from harness import bind_pdu, connect, wait_closed


def run_kmsd(*args, timeout=15):
    """kmsd run in the foreground with args (for options it rejects or prints)."""
    return harness.run([harness.program("kmsd")] + list(args), timeout=timeout)


class KmsdCli(harness.KmsdTestCase):
    def test_help_and_version(self):
        r = run_kmsd("--help")
        self.assertEqual(r.returncode, 0)
        for opt in ("--config", "--set", "--listen", "--state-dir", "--log-level", "--help",
                    "--version"):
            self.assertIn(opt, r.stdout)
        r = run_kmsd("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.strip(), r"^kmsd \(kmsdns\) \d+\.\d+\.\d+$")

    def test_missing_key_file_names_config_file_and_line(self):
        """A [dns] key_file that cannot be read is reported like every bad
        value: config file, line and key, one line, exit 2."""
        conf = os.path.join(self.tmp, "kmsd.conf")
        missing = os.path.join(self.tmp, "nokey")
        with open(conf, "w") as f:
            f.write("[host]\nstate_dir = %s\n\n[dns]\npublish = no\n"
                    "allow_unsigned = no\nkey_file = %s\n" % (self.tmp, missing))
        r = run_kmsd("--config", conf)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("kmsd: %s:7: [dns] key_file: %s: " % (conf, missing)),
                        lines[0])
        # Given with --set, the option is named instead.
        r = run_kmsd("--state-dir", self.tmp, "--set", "dns.publish=no",
                "--set", "dns.key_file=%s" % missing)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("kmsd: --set: [dns] key_file: %s: " % missing),
                        r.stderr)

    def test_state_dir_others_can_write_is_refused(self):
        """kmsd starts only on a state_dir (and state files) of its own user
        that group and others cannot write; otherwise one line saying what
        to fix, exit 1, and nothing in the directory is read or written."""
        state = os.path.join(self.tmp, "state")

        def refused(expect):
            r = run_kmsd("--state-dir", state, "--set", "dns.publish=no",
                         "--listen", "127.0.0.1:%d" % harness.free_port())
            self.assertEqual(r.returncode, 1, r.stderr)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(lines, ["kmsd: " + expect], r.stderr)

        os.mkdir(state, 0o700)
        os.chmod(state, 0o777)
        refused("state_dir %s is writable by others (mode 0777): chmod go-w %s" % (state, state))
        os.chmod(state, 0o770)
        refused("state_dir %s is writable by its group (mode 0770): chmod go-w %s"
                % (state, state))
        os.chmod(state, 0o700)
        # the directory holding it: others who can write it could swap state_dir
        os.chmod(self.tmp, 0o777)
        refused("state_dir %s lies in %s, which others can write (mode 0777): they could swap "
                "it; chmod go-w %s or move state_dir" % (state, self.tmp, self.tmp))
        # sticky, as /tmp: nobody else may rename our entry (kmsd starts at
        # the end of this test with the directory so)
        os.chmod(self.tmp, 0o1777)
        if os.geteuid() == 0:
            os.chown(state, 65534, -1)
            refused("state_dir %s is owned by uid 65534, not by this user (uid 0): chown 0 %s"
                    % (state, state))
            os.chown(state, 0, -1)
        # state files: a link (to a file kmsd would then overwrite), a
        # directory, a file others may write (a planted "published" file)
        target = os.path.join(self.tmp, "elsewhere")
        open(target, "w").close()
        inv = os.path.join(state, "inventory")
        os.symlink(target, inv)
        refused("state file %s is a symbolic link, not a file of its own: remove it" % inv)
        os.unlink(inv)
        settings = os.path.join(state, "settings")
        os.mkdir(settings)
        refused("state file %s is a directory, not a file: remove it or choose another path"
                % settings)
        os.rmdir(settings)
        published = os.path.join(state, "published")
        with open(published, "w") as f:
            f.write("kmsdns-published 1\n")
        os.chmod(published, 0o666)
        refused("state file %s is writable by others (mode 0666): chmod go-w %s"
                % (published, published))
        self.assertEqual(os.path.getsize(target), 0)
        self.assertEqual(sorted(os.listdir(state)), ["published"])
        # fixed as told, it starts
        os.chmod(published, 0o600)
        os.unlink(published)
        d = self.kmsd()
        d.state_dir = state
        d.write_config()
        d.start()
        self.stop_clean(d)

    def test_unknown_option_and_argument(self):
        for args in (["--frobnicate"], ["extra-arg"], ["--config"], ["--set", "nodot"]):
            r = run_kmsd(*args)
            self.assertEqual(r.returncode, 2, args)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertTrue(lines[0].startswith("kmsd: "), lines)

    def test_bad_config_value_names_file_line_key(self):
        conf = os.path.join(self.tmp, "bad.conf")
        with open(conf, "w") as f:
            f.write("[host]\nstate_dir = %s\nidle_timeout = soon\n" % self.tmp)
        r = run_kmsd("--config", conf)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("bad.conf:3", lines[0])
        self.assertIn("idle_timeout", lines[0])
        # Unknown key.
        with open(conf, "w") as f:
            f.write("[host]\nno_such_key = 1\n")
        r = run_kmsd("--config", conf)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.conf:2", r.stderr)
        self.assertIn("no_such_key", r.stderr)
        # A bad --set names the option.
        r = run_kmsd("--state-dir", self.tmp, "--set", "host.max_connections=lots")
        self.assertEqual(r.returncode, 2)
        self.assertIn("max_connections", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        # Missing file.
        r = run_kmsd("--config", os.path.join(self.tmp, "missing.conf"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.conf", r.stderr)

    def test_address_in_use_is_one_line_exit_1(self):
        d = self.kmsd().start()
        r = run_kmsd("--state-dir", os.path.join(self.tmp, "second"), "--listen",
                "127.0.0.1:%d" % d.port)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("cannot listen on 127.0.0.1:%d" % d.port, lines[0])
        self.assertIn("address already in use", lines[0])
        self.stop_clean(d)

    def test_overrides_and_shortcuts(self):
        d = self.kmsd()
        port2 = harness.free_port()
        d.start(["--listen", "127.0.0.1:%d" % port2, "--set", "host.idle_timeout=1",
                 "--log-level", "info"])
        self.assertTrue(harness.bind_ok("127.0.0.1", port2))
        with connect("127.0.0.1", port2) as s:
            self.assertTrue(wait_closed(s, 4))
        self.assertNotIn("debug:", d.log())
        self.stop_clean(d)

    def test_sighup_reload(self):
        d = self.kmsd(extra={"host": {"idle_timeout": "30", "log_level": "info"}}).start()
        with connect("127.0.0.1", d.port) as s:
            self.assertFalse(wait_closed(s, 1.5))
        # Reload with a 1 s idle timeout and debug logging.
        d.write_config({"host": {"idle_timeout": "1", "log_level": "debug"}})
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("configuration reloaded"), d.log_tail())
        with connect("127.0.0.1", d.port) as s:
            s.sendall(bind_pdu())
            self.assertTrue(wait_closed(s, 4))
        d.ctl("status")
        self.assertTrue(d.wait_log("debug: control: status -> OK"), d.log_tail())
        # A bad file keeps the running configuration, with one error line.
        with open(d.config, "a") as f:
            f.write("[host]\nidle_timeout = never\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("reload failed"), d.log_tail())
        errs = [l for l in d.log().splitlines() if "reload failed" in l]
        self.assertEqual(len(errs), 1)
        self.assertIn("idle_timeout", errs[0])
        self.assertTrue(d.alive())
        with connect("127.0.0.1", d.port) as s:
            self.assertTrue(wait_closed(s, 4))  # still the 1 s timeout
        d.ctl("status")
        self.stop_clean(d)

    def test_sighup_with_new_state_dir_applies_the_rest(self):
        """state_dir is not reloaded: the rest of the file is, with a warning."""
        d = self.kmsd(extra={"host": {"log_level": "info"}}).start()
        d.ctl("ipk", harness.EXAMPLE_KEY)
        moved = os.path.join(self.tmp, "elsewhere")
        d.write_config({"host": {"log_level": "info", "state_dir": moved,
                                 "activation_interval": "45"}})
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("configuration reloaded"), d.log_tail())
        self.assertNotIn("reload failed", d.log())
        self.assertIn("reload: state_dir changes only on restart; still using %s" % d.state_dir,
                      d.log())
        # The rest applied; the state and the control socket stay where they were.
        st = d.ctl("status").stdout
        self.assertIn("activation_interval 45 source=config", st)
        self.assertIn("partial_key=6789B", d.ctl("dli").stdout)
        d.ctl("sai", "60")
        self.assertFalse(os.path.exists(moved))
        self.stop_clean(d)

    def test_sigint_and_stale_socket(self):
        d = self.kmsd().start()
        d.signal(signal.SIGINT)
        self.assertEqual(d.proc.wait(20), 0)
        d.proc = None
        d.logf.close()
        self.assertFalse(os.path.exists(d.socket_path))
        # A stale socket file (nobody listening) is replaced.
        d.start()
        pid = d.proc.pid
        d.kill9()
        self.assertTrue(os.path.exists(d.socket_path))
        d.start()
        self.assertNotEqual(d.proc.pid, pid)
        self.assertEqual(os.stat(d.socket_path).st_mode & 0o777, 0o600)
        self.assertIn("stale control socket", d.log())
        self.stop_clean(d)

    def test_sd_notify_ready(self):
        import socket
        path = os.path.join(self.tmp, "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ns:
            ns.bind(path)
            ns.settimeout(20)
            d = self.kmsd()
            d.start(env=dict(os.environ, NOTIFY_SOCKET=path))
            msg = ns.recv(4096).decode()
            self.assertIn("READY=1", msg)
        self.stop_clean(d)

    def test_ready_line_and_timestamps(self):
        d = self.kmsd().start()
        ready = [l for l in d.log().splitlines() if "ready" in l]
        self.assertEqual(len(ready), 1)
        self.assertRegex(ready[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z kmsd: info: ready")
        self.assertIn("127.0.0.1:%d" % d.port, ready[0])
        self.stop_clean(d)


if __name__ == "__main__":
    harness.main()
