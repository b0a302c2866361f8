#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kmsdns as a system service: the Debian package, the systemd units, socket
activation, and kmsd run the way kmsd.service runs it (issue 12).

- Package: built once by scripts/package (--nocheck: the unit tests are
  this suite's own) into BUILD/package/ and reused while no source file is
  newer; contents (dpkg-deb -c), control data and maintainer scripts,
  lintian (no error or warning that debian/kmsdns.lintian-overrides does not
  explain), `systemd-analyze verify` of the units from the extracted tree,
  the packaged kmsd.conf publishing nothing.
- Units: the exposure table of dist/systemd/README.md is what
  `systemd-analyze security --offline=yes` says of kmsd.service; the
  sysusers file makes the kmsd user (systemd-sysusers --root, a temp dir).
- Socket activation: systemd-socket-activate hands kmsd its listening
  sockets (IPv4, IPv6, both); kms_client activates through them.
- As the unit runs it: a non-root user with no capability at all, no new
  privileges, umask 0077, a state directory made as StateDirectory= makes
  it, the packaged kmsd.conf listening on port 1688 in a private network
  namespace (unshare -n: only that namespace's own loopback).
- Install: dpkg -i, kmsd --version, the kmsd user, the conffile, kmsctl's
  default socket, then dpkg --purge and nothing left but the user.  This
  changes the machine: it runs only as root with CI=true or
  KMSDNS_TEST_INSTALL=1, and is reported skipped otherwise.

What needs systemd as PID 1 (the sandbox, StateDirectory=, Type=notify as
systemd sees it, the socket unit itself) is not exercised here:
dist/systemd/README.md lists it.
"""

import contextlib
import glob
import os
import pwd
import re
import shutil
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import EXAMPLE_KEY, SRC, BUILD, check, kms_client, run

PKG_DIR = os.path.join(BUILD, "package")
UNIT_DIR = os.path.join(SRC, "dist", "systemd")
INSTALL_OPT_IN = "KMSDNS_TEST_INSTALL"


def changelog_version():
    r = run(["dpkg-parsechangelog", "-l", os.path.join(SRC, "debian", "changelog"), "-S", "Version"])
    check(r.returncode == 0, "dpkg-parsechangelog", r)
    return r.stdout.strip()


def host_arch():
    return run(["dpkg", "--print-architecture"]).stdout.strip()


def newest_source_mtime():
    """The newest mtime of the files scripts/package copies (git's view of
    the work tree: tracked and untracked, not ignored)."""
    r = run(["git", "-C", SRC, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    check(r.returncode == 0, "git ls-files in %s" % SRC, r)
    newest = 0.0
    for name in r.stdout.split("\0"):
        if name:
            with contextlib.suppress(OSError):
                newest = max(newest, os.lstat(os.path.join(SRC, name)).st_mtime)
    return newest


_deb = None
_deb_failed = None


def package():
    """Path of kmsdns_<version>_<arch>.deb: the one in BUILD/package when it
    is newer than every source file, else built there by scripts/package
    (once per run of this file: a failed build fails every test that needs
    it without being tried again).  Skips when the packaging tools are not
    installed (scripts/install-deps --package)."""
    global _deb, _deb_failed
    if _deb:
        return _deb
    if _deb_failed:
        raise AssertionError(_deb_failed)
    for tool in ("dpkg-buildpackage", "dh", "lintian", "git"):
        if not shutil.which(tool):
            raise unittest.SkipTest("%s not installed (scripts/install-deps --package)" % tool)
    if not os.path.isdir(os.path.join(SRC, ".git")) and not os.path.isfile(os.path.join(SRC, ".git")):
        raise unittest.SkipTest("%s is not a git work tree: scripts/package copies git's files" % SRC)
    deb = os.path.join(PKG_DIR, "kmsdns_%s_%s.deb" % (changelog_version(), host_arch()))
    if os.path.isfile(deb) and os.path.getmtime(deb) > newest_source_mtime():
        print("reusing %s (newer than every source file)" % deb, flush=True)
    else:
        t0 = time.monotonic()
        r = run([os.path.join(SRC, "scripts", "package"), "--out", PKG_DIR, "--nocheck",
                 "--no-lintian"], timeout=540)
        if r.returncode != 0 or not os.path.isfile(deb):
            _deb_failed = "scripts/package did not build %s (exit %d), see %s" % (
                deb, r.returncode, os.path.join(PKG_DIR, "build.log"))
            check(False, _deb_failed, r)
        print("built %s in %.0f s" % (deb, time.monotonic() - t0), flush=True)
    _deb = deb
    return deb


_tree = None


def extracted():
    """The package's files unpacked (dpkg-deb -x) into a directory of
    BUILD/package (made again for each run of this file)."""
    global _tree
    if _tree:
        return _tree
    deb = package()
    tree = os.path.join(PKG_DIR, "root")
    shutil.rmtree(tree, ignore_errors=True)
    r = run(["dpkg-deb", "-x", deb, tree])
    check(r.returncode == 0, "dpkg-deb -x", r)
    _tree = tree
    return tree


def packaged_kmsd():
    """The package's kmsd when the package can be built here, else the build's."""
    try:
        return os.path.join(extracted(), "usr", "sbin", "kmsd")
    except unittest.SkipTest as e:
        print("(using %s: %s)" % (harness.program("kmsd"), e), flush=True)
        return harness.program("kmsd")


def control_field(deb, field):
    r = run(["dpkg-deb", "-f", deb, field])
    check(r.returncode == 0, "dpkg-deb -f %s" % field, r)
    return r.stdout.strip()


def control_file(deb, name):
    r = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True, timeout=30)
    check(r.returncode == 0, "dpkg-deb --ctrl-tarfile")
    t = subprocess.run(["tar", "-xOf", "-", "./" + name], input=r.stdout, capture_output=True,
                       timeout=30)
    return t.stdout.decode() if t.returncode == 0 else None


def status_lines(text):
    return dict(l.split(" ", 1) for l in text.splitlines() if " " in l)


def stop(proc, timeout=20):
    """SIGTERM (its PID only), wait; SIGKILL if it does not stop.  Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


# ---- the package -------------------------------------------------------------

class Package(unittest.TestCase):
    def test_contents(self):
        """Binaries, man pages, conffile, units, sysusers, docs; no test tools."""
        deb = package()
        r = run(["dpkg-deb", "-c", deb])
        check(r.returncode == 0, "dpkg-deb -c", r)
        entries = {}
        for line in r.stdout.splitlines():
            f = line.split()
            entries[f[5].lstrip(".")] = (f[0], f[1])
        for path, mode in [("/usr/sbin/kmsd", "-rwxr-xr-x"), ("/usr/bin/kmsctl", "-rwxr-xr-x"),
                           ("/usr/bin/kms-publish", "-rwxr-xr-x"),
                           ("/usr/bin/kms-locate", "-rwxr-xr-x"),
                           ("/etc/kmsd/kmsd.conf", "-rw-r--r--"),
                           ("/lib/systemd/system/kmsd.service", "-rw-r--r--"),
                           ("/lib/systemd/system/kmsd.socket", "-rw-r--r--"),
                           ("/usr/lib/sysusers.d/kmsdns.conf", "-rw-r--r--"),
                           ("/usr/share/doc/kmsdns/copyright", "-rw-r--r--"),
                           ("/usr/share/doc/kmsdns/zones/named.conf.in", "-rw-r--r--"),
                           ("/usr/share/doc/kmsdns/zones/kms.test.zone", "-rw-r--r--")]:
            self.assertIn(path, entries, r.stdout)
            self.assertEqual(entries[path], (mode, "root/root"), path)
        for page in ("kmsd", "kmsctl", "kms-publish", "kms-locate"):
            self.assertIn("/usr/share/man/man1/%s.1.gz" % page, entries)
        for doc in ("README.md", "zones/README.md", "configuration.md", "systemd/README.md"):
            self.assertTrue({"/usr/share/doc/kmsdns/" + doc, "/usr/share/doc/kmsdns/" + doc + ".gz"}
                            & set(entries), doc)
        # kmsd only in sbin; no test tools, benchmarks or start-named scripts.
        for absent in ("/usr/bin/kmsd", "/usr/bin/kms_client", "/usr/bin/bench_host",
                       "/usr/share/doc/kmsdns/zones/start-named", "/usr/share/doc/kmsdns/LICENSE"):
            self.assertNotIn(absent, entries)
        # Nothing of the package's own in /var/lib: StateDirectory= makes it.
        self.assertFalse([p for p in entries if p.startswith("/var/")], "files in /var")
        self.assertEqual(control_file(deb, "conffiles").split(), ["/etc/kmsd/kmsd.conf"])

    def test_control_and_scripts(self):
        """Version matches kmsd --version; the sysusers and unit snippets;
        the units are installed disabled and never started unconfigured."""
        deb = package()
        version = control_field(deb, "Version")
        self.assertEqual(version, changelog_version())
        out = run([os.path.join(extracted(), "usr", "sbin", "kmsd"), "--version"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(" %s" % version.rsplit("-", 1)[0], out.stdout)
        depends = control_field(deb, "Depends")
        for lib in ("libuv1", "libc-ares2", "libldns3", "libinih1", "libjansson4", "libsystemd0"):
            self.assertIn(lib, depends)
        self.assertIn("systemd | systemd-standalone-sysusers | systemd-sysusers", depends)
        postinst = control_file(deb, "postinst")
        self.assertIn("systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} kmsdns.conf", postinst)
        # dh_installsystemd --no-enable: a unit is enabled again only on an
        # upgrade where it was enabled before ("debian-installed"; without
        # --no-enable, was-enabled is true on a first install), and
        # deb-systemd-invoke starts only enabled (or already running) units.
        for unit in ("kmsd.service", "kmsd.socket"):
            self.assertIn("if deb-systemd-helper debian-installed '%s'; then" % unit, postinst)
        self.assertEqual(postinst.count("deb-systemd-helper enable"), 2, postinst)
        self.assertNotIn("was-enabled defaults to true", postinst)
        self.assertNotIn("systemctl enable", postinst)
        self.assertNotIn("systemctl start", postinst)
        postrm = control_file(deb, "postrm")
        self.assertRegex(postrm, r'if \[ "\$1" = "purge" \]; then\n\trm -rf "\$\{DPKG_ROOT:-\}/var/lib/kmsd"')

    def test_lintian(self):
        """No error or warning that the overrides file does not explain."""
        deb = package()
        r = run(["lintian", "--fail-on", "error,warning", "--no-tag-display-limit", deb], timeout=300)
        print(r.stdout, end="")
        tags = [l for l in r.stdout.splitlines() if re.match(r"[EW]: ", l)]
        self.assertEqual(tags, [], r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_units_verify(self):
        """systemd-analyze verify of the packaged units (no PID 1 needed):
        ExecStart is pointed at the extracted kmsd, man pages are looked up
        in the extracted tree; any complaint fails."""
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        tree = extracted()
        kmsd = os.path.join(tree, "usr", "sbin", "kmsd")
        with tempfile.TemporaryDirectory(prefix="kmsd-units.") as tmp:
            paths = []
            for unit in ("kmsd.service", "kmsd.socket"):
                with open(os.path.join(tree, "lib", "systemd", "system", unit)) as f:
                    text = f.read()
                if unit == "kmsd.service":
                    self.assertIn("\nExecStart=/usr/sbin/kmsd --config /etc/kmsd/kmsd.conf\n", text)
                    self.assertTrue(os.access(kmsd, os.X_OK))
                    self.assertTrue(os.path.isfile(os.path.join(tree, "etc", "kmsd", "kmsd.conf")))
                paths.append(os.path.join(tmp, unit))
                with open(paths[-1], "w") as f:
                    f.write(text.replace("/usr/sbin/kmsd", kmsd))
            env = dict(os.environ, MANPATH=os.path.join(tree, "usr", "share", "man"))
            r = run(["systemd-analyze", "verify"] + paths, env=env, timeout=60)
            self.assertEqual((r.returncode, r.stderr.strip(), r.stdout.strip()), (0, "", ""))
            # The check bites: a typo in the unit is reported.
            with open(paths[0]) as f:
                bad = f.read().replace("Type=notify", "Type=notfy")
            with open(paths[0], "w") as f:
                f.write(bad)
            r = run(["systemd-analyze", "verify", paths[0]], env=env, timeout=60)
            self.assertIn("Failed to parse service type", r.stderr)

    def test_packaged_config_publishes_nothing(self):
        """/etc/kmsd/kmsd.conf is docs/kmsd.conf.example with publish = no,
        the state in /var/lib/kmsd and the control socket at kmsctl's
        default; kmsd started with it serves but does not publish."""
        tree = extracted()
        with open(os.path.join(tree, "etc", "kmsd", "kmsd.conf")) as f:
            conf = f.read()
        with open(os.path.join(SRC, "docs", "kmsd.conf.example")) as f:
            example = f.read()
        self.assertIn("\npublish = no\n", conf)
        self.assertNotIn("\npublish = yes", conf)
        self.assertIn("\nstate_dir = /var/lib/kmsd\n", conf)
        self.assertNotRegex(conf, r"\ncontrol_socket\s*=")    # default: <state_dir>/kmsd.sock
        self.assertNotRegex(conf, r"\n(domains|key_file|target)\s*=")
        self.assertEqual([l for l in conf.splitlines() if not l.startswith(";") and l != "publish = no"],
                         [l for l in example.splitlines()
                          if not l.startswith(";") and l != "publish = yes"])
        with tempfile.TemporaryDirectory(prefix="kmsd-pkgconf.") as tmp:
            port = harness.free_port()
            state = os.path.join(tmp, "state")
            sock = os.path.join(state, "kmsd.sock")
            with open(os.path.join(tmp, "kmsd.log"), "wb") as log:
                proc = subprocess.Popen([os.path.join(tree, "usr", "sbin", "kmsd"), "--config",
                                         os.path.join(tree, "etc", "kmsd", "kmsd.conf"),
                                         "--state-dir", state, "--listen", "127.0.0.1:%d" % port],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
            try:
                kmsctl = os.path.join(tree, "usr", "bin", "kmsctl")
                ok = harness.wait_until(lambda: proc.poll() is None and os.path.exists(sock) and run(
                    [kmsctl, "--socket", sock, "status"]).returncode == 0, timeout=20)
                with open(os.path.join(tmp, "kmsd.log")) as f:
                    check(ok, "packaged kmsd answered kmsctl status", f.read())
                st = status_lines(run([kmsctl, "--socket", sock, "status"]).stdout)
                self.assertEqual(st["publish"], "no source=config")
                self.assertEqual(st["dns"], "publishing=no running=no")
                rc, kv, r = kms_client("127.0.0.1", port)
                self.assertEqual(kv.get("status"), "0xC004F042", r.stdout)   # no product served
            finally:
                self.assertEqual(stop(proc), 0)
            with open(os.path.join(tmp, "kmsd.log")) as f:
                self.assertIn("dns: publishing is off", f.read())


# ---- the units, from the tree ------------------------------------------------

class Units(unittest.TestCase):
    def test_exposure_table_is_current(self):
        """dist/systemd/README.md's table is what systemd-analyze says now."""
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        r = run([os.path.join(UNIT_DIR, "exposure")], timeout=300)
        check(r.returncode == 0, "dist/systemd/exposure", r)
        with open(os.path.join(UNIT_DIR, "README.md")) as f:
            readme = f.read()
        self.assertIn(r.stdout, readme, "dist/systemd/README.md: run dist/systemd/exposure and "
                      "paste its table:\n" + r.stdout)
        final = r.stdout.strip().splitlines()[-1].split("|")[-2].strip()
        print("kmsd.service exposure: %s" % final)
        self.assertLess(float(final.split()[0]), 2.0)

    def test_sysusers_makes_the_kmsd_user(self):
        if not shutil.which("systemd-sysusers"):
            self.skipTest("systemd-sysusers not installed")
        with tempfile.TemporaryDirectory(prefix="kmsd-sysusers.") as root:
            os.makedirs(os.path.join(root, "etc"))
            with open(os.path.join(SRC, "dist", "sysusers.d", "kmsdns.conf")) as f:
                r = run(["systemd-sysusers", "--root", root, "-"], stdin=f)
            check(r.returncode == 0, "systemd-sysusers", r)
            with open(os.path.join(root, "etc", "passwd")) as f:
                users = [l.split(":") for l in f.read().splitlines()]
            kmsd = [u for u in users if u[0] == "kmsd"]
            self.assertEqual(len(kmsd), 1, users)
            self.assertLess(int(kmsd[0][2]), 1000)      # a system user
            self.assertEqual(kmsd[0][5:], ["/var/lib/kmsd", "/usr/sbin/nologin"])
            with open(os.path.join(root, "etc", "group")) as f:
                self.assertIn("kmsd", [l.split(":")[0] for l in f.read().splitlines()])

    def test_socket_unit_listens_like_kmsd(self):
        """Two sockets, IPv4 and IPv6-only, as kmsd's own listen makes them."""
        with open(os.path.join(UNIT_DIR, "kmsd.socket")) as f:
            lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
        self.assertIn("ListenStream=0.0.0.0:1688", lines)
        self.assertIn("ListenStream=[::]:1688", lines)
        self.assertIn("BindIPv6Only=ipv6-only", lines)
        self.assertIn("Service=kmsd.service", lines)


# ---- socket activation -------------------------------------------------------

class SocketActivation(harness.KmsdTestCase):
    """systemd-socket-activate binds, waits for the first client, and execs
    kmsd with LISTEN_FDS/LISTEN_PID as systemd does for kmsd.socket."""

    def activated(self, addrs):
        if not shutil.which("systemd-socket-activate"):
            self.skipTest("systemd-socket-activate not installed (package systemd)")
        if any(":" in a for a in addrs) and not harness.have_ipv6():
            self.skipTest("no IPv6 loopback")
        # [host] listen names another port: it must not be used.
        d = self.kmsd(listen=["127.0.0.1:%d" % harness.free_port()])
        port = harness.free_port()
        argv = ["systemd-socket-activate"]
        for a in addrs:
            argv += ["-l", ("[%s]:%d" if ":" in a else "%s:%d") % (a, port)]
        d.logf = open(d.log_path, "ab")
        d.proc = subprocess.Popen(argv + [harness.program("kmsd"), "--config", d.config],
                                  stdout=d.logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        check(harness.wait_until(lambda: "Listening on" in d.log() or d.proc.poll() is not None),
              "systemd-socket-activate listening", d.log())
        # The first client starts kmsd (nothing is served yet: 0xC004F042).
        rc, kv, r = kms_client(addrs[0], port)
        self.assertEqual(kv.get("status"), "0xC004F042", r.stdout + r.stderr + d.log())
        d.wait_ready()
        listen = status_lines(d.ctl("status").stdout).get("listen")
        if listen is None or "source=" not in listen:
            self.skipTest("kmsctl status has no 'listen ... source=' line: this kmsd does not "
                          "take sockets from systemd (sd_listen_fds) yet")
        want = " ".join(("[%s]:%d" if ":" in a else "%s:%d") % (a, port) for a in addrs)
        self.assertEqual(listen, "%s source=socket-activation" % want)
        self.assertIn("socket activation: %d listening socket" % len(addrs), d.log())
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        for a in addrs:
            rc, kv, r = kms_client(a, port)
            self.assertEqual((rc, kv.get("status")), (0, "0x00000000"), r.stdout + r.stderr)
            self.assertTrue(harness.bind_ok(a, port), "RPC bind through %s" % a)
        self.assertFalse(self._port_open(d.listen[0]), "[host] listen %s is not used" % d.listen[0])
        self.stop_clean(d)

    @staticmethod
    def _port_open(addr):
        host, port = addr.rsplit(":", 1)
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
                return True
        except OSError:
            return False

    def test_ipv4_socket(self):
        self.activated(["127.0.0.1"])

    def test_ipv6_socket(self):
        self.activated(["::1"])

    def test_both_families(self):
        self.activated(["127.0.0.1", "::1"])


# ---- kmsd the way kmsd.service runs it ---------------------------------------

def unit_user():
    """(uid, gid, name) to run kmsd as: the kmsd user when the machine has it,
    else an unused system-range uid/gid with no passwd entry (nothing is
    added to the machine)."""
    with contextlib.suppress(KeyError):
        pw = pwd.getpwnam("kmsd")
        return pw.pw_uid, pw.pw_gid, "kmsd"
    used = {p.pw_uid for p in pwd.getpwall()}
    for uid in range(899, 700, -1):
        if uid not in used:
            return uid, uid, "uid %d" % uid
    raise unittest.SkipTest("no free uid")


def setpriv_argv(uid, gid, named):
    """setpriv as kmsd.service sets up the process: User=/Group=,
    CapabilityBoundingSet= (empty), no ambient capabilities,
    NoNewPrivileges=yes; UMask=0077 by the shell it runs."""
    argv = ["setpriv", "--reuid", str(uid), "--regid", str(gid)]
    argv += ["--init-groups"] if named else ["--clear-groups"]
    return argv + ["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all",
                   "--no-new-privs", "--", "sh", "-c", 'umask 0077 && exec "$@"', "kmsd"]


class RunLikeTheUnit(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (setpriv to another user, unshare -n)")
        for tool in ("setpriv", "unshare", "nsenter", "ip"):
            if not shutil.which(tool):
                self.skipTest("%s not installed" % tool)
        self.tmp = tempfile.mkdtemp(prefix="kmsd-unit.")
        os.chmod(self.tmp, 0o755)           # like /var/lib: root's, others may not write
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            with contextlib.suppress(Exception):
                stop(p, timeout=10)
        if os.environ.get("KMSDNS_KEEP"):
            sys.stderr.write("kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, kmsd, conf, state, uid, gid, named):
        """kmsd in a new network namespace (its own loopback only), as the
        unit's user, with the unit's privileges."""
        log = open(os.path.join(self.tmp, "kmsd.log"), "ab")
        argv = setpriv_argv(uid, gid, named) + [kmsd, "--config", conf, "--state-dir", state]
        if not harness.have_ipv6():
            argv += ["--set", "host.listen=0.0.0.0"]
        p = subprocess.Popen(["unshare", "--net", "--", "sh", "-c",
                              "ip link set lo up && exec " + shlex.join(argv)],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        return p

    def log(self):
        with open(os.path.join(self.tmp, "kmsd.log"), errors="replace") as f:
            return f.read()

    def in_netns(self, proc, argv, **kw):
        return run(["nsenter", "--net=/proc/%d/ns/net" % proc.pid, "--"] + argv, **kw)

    def test_kmsd_as_the_unit_runs_it(self):
        kmsd = packaged_kmsd()
        tree = os.path.dirname(os.path.dirname(os.path.dirname(kmsd)))
        conf = os.path.join(tree, "etc", "kmsd", "kmsd.conf")
        if not os.path.isfile(conf):
            conf = os.path.join(SRC, "docs", "kmsd.conf.example")
        kmsctl = os.path.join(os.path.dirname(os.path.dirname(kmsd)), "bin", "kmsctl")
        if not os.path.isfile(kmsctl):
            kmsctl = harness.program("kmsctl")
        uid, gid, who = unit_user()
        print("kmsd: %s, config %s, as %s" % (kmsd, conf, who), flush=True)
        # StateDirectory=kmsd, StateDirectoryMode=0700: the unit's user owns it.
        state = os.path.join(self.tmp, "kmsd")
        os.mkdir(state, 0o700)
        os.chown(state, uid, gid)
        p = self.start(kmsd, conf, state, uid, gid, who == "kmsd")
        sock = os.path.join(state, "kmsd.sock")
        ok = harness.wait_until(lambda: p.poll() is None and os.path.exists(sock) and run(
            [kmsctl, "--socket", sock, "status"]).returncode == 0, timeout=20)
        check(ok, "kmsd as %s answered kmsctl" % who, self.log())
        # The process is what the unit makes it: user, no capability, no new
        # privileges, umask 0077.
        with open("/proc/%d/status" % p.pid) as f:
            st = dict(l.split(":", 1) for l in f.read().splitlines())
        self.assertEqual(st["Uid"].split(), [str(uid)] * 4)
        self.assertEqual(st["Gid"].split(), [str(gid)] * 4)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(st[cap], 16), 0, cap)
        self.assertEqual(st["NoNewPrivs"].strip(), "1")
        self.assertEqual(st["Umask"].strip(), "0077")
        want = "0.0.0.0:1688 [::]:1688" if harness.have_ipv6() else "0.0.0.0:1688"
        self.assertIn("ready: listening on %s;" % want, self.log())
        # An activation through port 1688 in that namespace.
        r = run([kmsctl, "--socket", sock, "ipk", EXAMPLE_KEY])
        check(r.returncode == 0, "kmsctl ipk", r)
        check(run([kmsctl, "--socket", sock, "ato"]).returncode == 0, "kmsctl ato")
        hosts = ["127.0.0.1"] + (["::1"] if harness.have_ipv6() else [])
        for host in hosts:
            target = "[%s]:1688" % host if ":" in host else "%s:1688" % host
            r = self.in_netns(p, [harness.program("kms_client"), target])
            self.assertIn("status=0x00000000", r.stdout, r.stdout + r.stderr + self.log())
        # The state it wrote is its own and private.
        for name in os.listdir(state):
            path = os.path.join(state, name)
            s = os.lstat(path)
            self.assertEqual((s.st_uid, s.st_gid), (uid, gid), name)
            self.assertEqual(s.st_mode & 0o077, 0, "%s mode %o" % (name, s.st_mode))
        self.assertEqual(os.stat(state).st_mode & 0o777, 0o700)
        self.assertEqual(stop(p), 0, self.log())

    def test_state_dir_not_the_users_is_refused(self):
        """Without StateDirectory='s chown (a directory of root's), kmsd
        refuses to start, naming it."""
        kmsd = packaged_kmsd()
        uid, gid, who = unit_user()
        state = os.path.join(self.tmp, "kmsd")
        os.mkdir(state, 0o700)
        conf = os.path.join(self.tmp, "kmsd.conf")
        with open(conf, "w") as f:
            f.write("[host]\nlisten = 127.0.0.1:1688\n[dns]\npublish = no\n")
        p = self.start(kmsd, conf, state, uid, gid, who == "kmsd")
        p.wait(20)
        self.assertEqual(p.returncode, 1, self.log())
        self.assertIn("state_dir %s is owned by uid 0, not by this user (uid %d)" % (state, uid),
                      self.log())


# ---- install and purge (changes the machine) ---------------------------------

class InstallPurge(unittest.TestCase):
    """dpkg -i and dpkg --purge on this machine: only as root with CI=true or
    KMSDNS_TEST_INSTALL=1, and never when kmsdns is installed already."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root")
        if os.environ.get("CI") != "true" and os.environ.get(INSTALL_OPT_IN) != "1":
            self.skipTest("installs and purges the package on this machine: set %s=1 "
                          "(CI=true does) to run it" % INSTALL_OPT_IN)
        r = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "kmsdns"])
        if r.returncode == 0 and r.stdout.strip() not in ("", "not-installed", "config-files"):
            self.skipTest("kmsdns is installed on this machine already (%s): left alone"
                          % r.stdout.strip())
        if os.path.exists("/var/lib/kmsd") or os.path.exists("/etc/kmsd"):
            self.skipTest("/var/lib/kmsd or /etc/kmsd exists already: left alone")

    def test_install_run_purge(self):
        deb = package()
        user_before = self._user()
        r = run(["dpkg", "-i", deb], timeout=120,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        purged = False
        try:
            check(r.returncode == 0, "dpkg -i", r)
            out = run(["/usr/sbin/kmsd", "--version"])
            self.assertEqual(out.returncode, 0)
            self.assertIn(control_field(deb, "Version").rsplit("-", 1)[0], out.stdout)
            for prog in ("kmsctl", "kms-publish", "kms-locate"):
                self.assertEqual(run(["/usr/bin/" + prog, "--version"]).returncode, 0, prog)
            # The user, by the postinst's systemd-sysusers.
            pw = self._user()
            self.assertIsNotNone(pw, "no kmsd user after dpkg -i")
            self.assertEqual((pw.pw_dir, pw.pw_shell), ("/var/lib/kmsd", "/usr/sbin/nologin"))
            self.assertLess(pw.pw_uid, 1000)
            print("kmsd user uid %d (%s)" % (pw.pw_uid, "made by this install" if user_before is None
                                            else "there before"), flush=True)
            # The conffile, registered as one.
            r = run(["dpkg-query", "-W", "-f", "${Conffiles}", "kmsdns"])
            self.assertIn("/etc/kmsd/kmsd.conf", r.stdout)
            with open("/etc/kmsd/kmsd.conf") as f:
                self.assertIn("\npublish = no\n", f.read())
            # No state directory yet: StateDirectory= makes it when the
            # service starts (there is no systemd here to start it).
            self.assertFalse(os.path.exists("/var/lib/kmsd"), "the package made /var/lib/kmsd")
            # Units disabled (deb-systemd-helper records nothing enabled).
            for unit in ("kmsd.service", "kmsd.socket"):
                self.assertTrue(os.path.isfile("/lib/systemd/system/" + unit))
                self.assertFalse(glob.glob("/etc/systemd/system/*.wants/" + unit), unit)
            self._run_as_service(pw)
            r = run(["dpkg", "--purge", "kmsdns"], timeout=120)
            purged = True
            check(r.returncode == 0, "dpkg --purge", r)
            left = [p for p in ("/usr/sbin/kmsd", "/usr/bin/kmsctl", "/etc/kmsd", "/var/lib/kmsd",
                                "/lib/systemd/system/kmsd.service",
                                "/lib/systemd/system/kmsd.socket",
                                "/usr/lib/sysusers.d/kmsdns.conf", "/usr/share/doc/kmsdns",
                                "/usr/share/man/man1/kmsd.1.gz")
                    if os.path.lexists(p)]
            self.assertEqual(left, [])
            self.assertFalse(glob.glob("/etc/systemd/system/*.wants/kmsd.*"))
            self.assertFalse(glob.glob("/var/lib/systemd/deb-systemd-helper-enabled/kmsd.*"))
            r = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "kmsdns"])
            self.assertIn(r.stdout.strip(), ("", "not-installed"))
            # Debian leaves system users in place on purge (files they owned
            # may remain elsewhere): the kmsd user stays.
            self.assertIsNotNone(self._user(), "the kmsd user went with the purge")
        finally:
            if not purged:
                run(["dpkg", "--purge", "kmsdns"], timeout=120)

    @staticmethod
    def _user():
        try:
            return pwd.getpwnam("kmsd")
        except KeyError:
            return None

    def _run_as_service(self, pw):
        """/var/lib/kmsd as StateDirectory= makes it, the installed kmsd as
        the kmsd user with the installed kmsd.conf (its own port, on
        127.0.0.1), and kmsctl as root finding it with no option."""
        os.mkdir("/var/lib/kmsd", 0o700)
        os.chown("/var/lib/kmsd", pw.pw_uid, pw.pw_gid)
        port = harness.free_port()
        with tempfile.TemporaryFile() as log:
            p = subprocess.Popen(setpriv_argv(pw.pw_uid, pw.pw_gid, True) +
                                 ["/usr/sbin/kmsd", "--config", "/etc/kmsd/kmsd.conf",
                                  "--listen", "127.0.0.1:%d" % port],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                ok = harness.wait_until(lambda: p.poll() is None and run(
                    ["/usr/bin/kmsctl", "status"]).returncode == 0, timeout=20)
                log.seek(0)
                check(ok, "installed kmsd answered `kmsctl status`", log.read().decode())
                st = status_lines(run(["/usr/bin/kmsctl", "status"]).stdout)
                self.assertEqual(st["publish"], "no source=config")
                run(["/usr/bin/kmsctl", "ipk", EXAMPLE_KEY])
                run(["/usr/bin/kmsctl", "ato"])
                rc, kv, r = kms_client("127.0.0.1", port)
                self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
                self.assertEqual(os.stat("/var/lib/kmsd/inventory").st_uid, pw.pw_uid)
            finally:
                self.assertEqual(stop(p), 0)


if __name__ == "__main__":
    harness.main()
