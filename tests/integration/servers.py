# SPDX-License-Identifier: MIT
"""servers - Knot DNS and PowerDNS Authoritative as private test servers
(python3 stdlib only), next to harness.Named (BIND).

    from servers import Knot, PowerDNS
    with Knot() as ns:                        # knotd in a temp dir, 127.0.0.1:PORT
        harness.kms_publish("publish", "--server", ns.server, "--key", ns.key_file, ...)
        harness.check(ns.srv("_vlmcs._tcp.kms.test") == [...], "record served")

Both serve kms.test and corp.test with the data of zones/kms.test.zone and
zones/corp.test.zone (@SERIAL@ replaced by a serial unique to the instance,
which the readiness check matches), optionally with `hosts` extra host
records h01..hNN.kms.test (A 127.0.2.N and AAAA ::1) for the glue tests.

The surface is harness.Named's where the tests need it: port, server
("127.0.0.1:PORT"), dir, key_file (kms-publisher., tsig-keygen format),
other_key_file (kms-other., known to the server, granted nothing), dig(),
srv(), wait_srv(), nsupdate(), alive(), stop(), and the context manager.

Update policy, as close to zones/named.conf.in (`grant kms-publisher.
subdomain _vlmcs._tcp.<zone>. SRV`) as each server can say it:

- Knot: an ACL with the key, `action: update`, `update-owner: name`,
  `update-owner-name: _vlmcs._tcp` (relative: the zone is appended),
  `update-owner-match: sub-or-equal`, `update-type: SRV` - the same grant.
- PowerDNS, policy="metadata" (default): the zone's TSIG-ALLOW-DNSUPDATE
  metadata names kms-publisher.; that grants the key the whole zone, every
  name and type: PowerDNS 4.7 has no per-name or per-type restriction
  there.  policy="lua": lua-dnsupdate-policy-script allows exactly
  kms-publisher. on SRV at or under _vlmcs._tcp.<zone> (it replaces the
  metadata checks); PowerDNS then skips each denied record and still
  answers NOERROR (rfc2136handler.cc: "Not permitted by policy", continue;
  PowerDNS issue 8422).  And 4.7.3 gives the script the key name of the
  last signed message of the thread for an unsigned one (one distributor
  thread here, so that is deterministic): an unsigned UPDATE right after
  one of kms-publisher. passes the script as kms-publisher.'s.

Each server runs in the foreground in a fresh temp dir under /tmp, listens
on 127.0.0.1 only, on a free port, and is stopped by its PID (SIGTERM, then
SIGKILL, bounded waits); the dir is removed unless KMSDNS_KEEP is set.
PowerDNS's security poll (a query to the outside) is switched off, so no
traffic leaves the loopback.  A server that is not installed raises
NotInstalled, a unittest.SkipTest.

DNS wire helpers (stdlib only) for looking at what a server answered, as
no client tool shows it whole: query() (an EDNS query over UDP, sections
decoded), raw_update() (one RFC 2136 UPDATE adding an SRV record,
TSIG-signed with hmac-sha256 per RFC 8945 or unsigned, over UDP or DoT;
returns the rcode, the TSIG error of the answer and whether the answer was
signed) and dot_exchange() (one message over DNS-over-TLS, certificate
checked).
"""

import base64
import gzip
import hashlib
import hmac
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ZONES, free_port, make_key, run, wait_until

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
TSIG_ERRORS = {0: None, 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC"}
TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 28: "AAAA", 33: "SRV", 41: "OPT", 250: "TSIG"}
TYPE_CODES = {v: k for k, v in TYPES.items()}


class NotInstalled(unittest.SkipTest):
    """The server's programs are not installed here (scripts/install-deps)."""


def read_key(path):
    """(name, algorithm, secret) of the one key of a tsig-keygen file."""
    with open(path) as f:
        text = f.read()
    m = re.search(r'key\s+"([^"]+)"\s*\{.*?algorithm\s+([\w-]+)\s*;.*?secret\s+"([^"]+)"\s*;',
                  text, re.S)
    if not m:
        raise ValueError("%s: no key in tsig-keygen format" % path)
    return m.group(1), m.group(2), m.group(3)


# ---- DNS wire (RFC 1035, 2136, 6891, 8945) ----------------------------------

def wire_name(name):
    """Uncompressed wire form of an absolute name, lower case (the canonical
    form TSIG digests use)."""
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode("ascii")
    return out + b"\0"


def read_name(msg, pos):
    """(name with a final dot, position after it), following pointers."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if n == 0:
            return ".".join(labels) + ".", (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n


def _rdata_text(msg, rtype, pos, rdlen):
    if rtype == 1 and rdlen == 4:
        return socket.inet_ntop(socket.AF_INET, msg[pos:pos + 4])
    if rtype == 28 and rdlen == 16:
        return socket.inet_ntop(socket.AF_INET6, msg[pos:pos + 16])
    if rtype == 33:
        prio, weight, port = struct.unpack(">HHH", msg[pos:pos + 6])
        return "%d %d %d %s" % (prio, weight, port, read_name(msg, pos + 6)[0].lower())
    if rtype in (2, 5):
        return read_name(msg, pos)[0].lower()
    return msg[pos:pos + rdlen].hex()


def parse(msg):
    """A DNS message as a dict: id, flags, rcode (with the EDNS extended
    bits), tc, and the sections as lists of (name, type, ttl, text, raw
    rdata)."""
    mid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        _, pos = read_name(msg, pos)
        pos += 4
    out = {"id": mid, "flags": flags, "rcode": flags & 0xF, "tc": bool(flags & 0x0200)}
    for sec, count in (("answer", an), ("authority", ns), ("additional", ar)):
        recs = []
        for _ in range(count):
            name, pos = read_name(msg, pos)
            rtype, _cls, ttl, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
            pos += 10
            if rtype == 41:
                out["rcode"] |= (ttl >> 24) << 4
                out["udp_size"] = _cls
            recs.append((name.lower(), TYPES.get(rtype, str(rtype)), ttl,
                         _rdata_text(msg, rtype, pos, rdlen), msg[pos:pos + rdlen]))
            pos += rdlen
        out[sec] = recs
    return out


def _exchange(port, msg, timeout=3.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, ("127.0.0.1", port))
        mid = msg[:2]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = s.recv(65535)
            if data[:2] == mid:
                return data
    raise socket.timeout("no answer from 127.0.0.1#%d" % port)


def dot_exchange(port, msg, ca_file, name, timeout=3.0, host="127.0.0.1"):
    """Send msg over DNS-over-TLS (RFC 7858: TCP framing, a 2-byte length,
    inside TLS) to host#port and return the answer; the certificate must
    chain to ca_file and match name (ssl.SSLCertVerificationError if not)."""
    import ssl
    ctx = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            s.sendall(struct.pack(">H", len(msg)) + msg)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                data = s.recv(65535)
                if not data:
                    raise ConnectionError("DoT connection closed before the answer")
                buf += data
            return buf[2:2 + struct.unpack(">H", buf[:2])[0]]


def query(port, name, rtype="SRV", bufsize=1232, timeout=3.0):
    """Ask 127.0.0.1#port name/rtype over UDP with EDNS (bufsize); returns
    parse() of the answer (never retried over TCP: what the server put in
    the datagram is the point)."""
    mid = random.randrange(65536)
    msg = struct.pack(">HHHHHH", mid, 0, 1, 0, 0, 1)
    msg += wire_name(name) + struct.pack(">HH", TYPE_CODES[rtype], 1)
    msg += b"\0" + struct.pack(">HHIH", 41, bufsize, 0, 0)
    return parse(_exchange(port, msg, timeout))


def _tsig_rr(msg, key_name, secret, mid, now):
    """The TSIG RR that signs msg (RFC 8945 4.3.3: the message, then the
    TSIG variables; hmac-sha256, fudge 300)."""
    alg = wire_name("hmac-sha256.")
    kn = wire_name(key_name)
    when = struct.pack(">HIH", now >> 32, now & 0xFFFFFFFF, 300)
    tsig_vars = kn + struct.pack(">HI", 255, 0) + alg + when + struct.pack(">HH", 0, 0)
    mac = hmac.new(base64.b64decode(secret), msg + tsig_vars, hashlib.sha256).digest()
    rdata = alg + when + struct.pack(">H", len(mac)) + mac + struct.pack(">HHH", mid, 0, 0)
    return kn + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata


def raw_update(port, zone, owner, target, srv_port=1688, ttl=60, key_file=None,
               clock_offset=0, timeout=3.0, tls=None):
    """Send one UPDATE to 127.0.0.1#port adding `owner ttl IN SRV 0 0
    srv_port target` to zone, signed with key_file (hmac-sha256) or
    unsigned (None), the signer's clock clock_offset seconds off; over UDP,
    or over DNS-over-TLS with tls=(ca_file, name) (dot_exchange).  Returns
    {"rcode": name, "tsig_error": name or None, "tsig_present": bool,
    "signed": bool (the answer carries a MAC)}."""
    mid = random.randrange(65536)
    msg = struct.pack(">HHHHHH", mid, 5 << 11, 1, 0, 1, 0)
    msg += wire_name(zone) + struct.pack(">HH", 6, 1)
    rdata = struct.pack(">HHH", 0, 0, srv_port) + wire_name(target)
    msg += wire_name(owner) + struct.pack(">HHIH", 33, 1, ttl, len(rdata)) + rdata
    if key_file:
        name, alg, secret = read_key(key_file)
        if alg.lower() != "hmac-sha256":
            raise ValueError("raw_update signs with hmac-sha256 only, not %s" % alg)
        tsig = _tsig_rr(msg, name, secret, mid, int(time.time()) + clock_offset)
        msg = msg[:10] + struct.pack(">H", 1) + msg[12:] + tsig
    if tls:
        ans = parse(dot_exchange(port, msg, tls[0], tls[1], timeout))
    else:
        ans = parse(_exchange(port, msg, timeout))
    out = {"rcode": RCODES.get(ans["rcode"], str(ans["rcode"])), "tsig_error": None,
           "tsig_present": False, "signed": False}
    for name, rtype, _ttl, _text, raw in ans["additional"]:
        if rtype == "TSIG":
            # algorithm name (uncompressed), time 6, fudge 2, MAC size 2,
            # MAC, original id 2, error 2, other len 2, other data
            _, p = read_name(raw, 0)
            macsize = struct.unpack(">H", raw[p + 8:p + 10])[0]
            p += 10 + macsize
            err = struct.unpack(">H", raw[p + 2:p + 4])[0]
            out.update(tsig_present=True, signed=macsize > 0,
                       tsig_error=TSIG_ERRORS.get(err, str(err)))
    return out


# ---- servers --------------------------------------------------------------

class _Server:
    """What Knot and PowerDNS share: temp dir, keys, zone text, the process
    and its stop, and harness.Named's query helpers."""

    label = None      # "knot", "pdns"
    programs = ()     # needed on PATH

    # harness.Named's helpers use only self.port, self.key_file and self.pid
    dig = harness.Named.dig
    srv = harness.Named.srv
    wait_srv = harness.Named.wait_srv
    nsupdate = harness.Named.nsupdate
    _nsupdate = harness.Named._nsupdate
    alive = harness.Named.alive

    def __init__(self, hosts=0):
        for prog in self.programs:
            if not shutil.which(prog):
                raise NotInstalled("%s not installed (scripts/install-deps)" % prog)
        self.hosts = hosts
        self.dir = tempfile.mkdtemp(prefix="kms-%s." % self.label)
        os.chmod(self.dir, 0o700)
        self.pid = None
        self.proc = None
        self.port = None
        self.server = None
        self.serial = random.randrange(1000000000, 2000000000)
        try:
            self.key_file = make_key(os.path.join(self.dir, "kms-publisher.key"),
                                     "kms-publisher.")
            self.other_key_file = make_key(os.path.join(self.dir, "kms-other.key"), "kms-other.")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.log_path = os.path.join(self.dir, "%s.log" % self.label)

    @classmethod
    def available(cls):
        return all(shutil.which(p) for p in cls.programs)

    def zone_text(self, zone):
        """zones/<zone>.zone with @SERIAL@ filled in; kms.test gets the
        extra hosts h01..hNN (A 127.0.2.N, AAAA ::1)."""
        with open(os.path.join(ZONES, zone + ".zone")) as f:
            text = f.read().replace("@SERIAL@", str(self.serial))
        if zone == "kms.test":
            for i in range(1, self.hosts + 1):
                text += "h%02d\tIN A\t127.0.2.%d\nh%02d\tIN AAAA\t::1\n" % (i, i, i)
        return text

    def write_zones(self, where):
        paths = {}
        for zone in ("kms.test", "corp.test"):
            paths[zone] = os.path.join(where, zone + ".zone")
            with open(paths[zone], "w") as f:
                f.write(self.zone_text(zone))
        return paths

    def _is_ours(self, tcp):
        argv = ["dig", "-p", str(self.port), "@127.0.0.1", "+short", "+time=1", "+tries=1",
                "kms.test", "SOA"]
        if tcp:
            argv.insert(1, "+tcp")
        f = run(argv, timeout=5).stdout.split()
        return (len(f) >= 3 and f[0] == "ns1.kms.test." and f[2].isdigit() and
                self.serial <= int(f[2]) < self.serial + 100000)

    def start(self, timeout=15):
        """Up to three ports: configure, launch, wait (bounded) until both
        UDP and TCP answer with our serial; the port taken meanwhile by
        another process means another try, anything else is fatal."""
        last = ""
        for _ in range(3):
            self.port = self._free_port()
            self.server = "127.0.0.1:%d" % self.port
            self.configure()
            logf = open(os.path.join(self.dir, "%s.stderr" % self.label), "ab")
            try:
                self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=subprocess.STDOUT, cwd=self.dir)
            finally:
                logf.close()
            self.pid = self.proc.pid
            if wait_until(lambda: self.proc.poll() is not None or
                          (self._is_ours(True) and self._is_ours(False)), timeout, 0.1) \
                    and self.proc.poll() is None:
                return self
            last = self.output_tail()
            self.stop()
            if "in use" not in last:
                break
        raise RuntimeError("%s did not start in %s:\n%s" % (self.label, self.dir, last))

    def _free_port(self):
        for _ in range(20):
            port = free_port()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
        raise RuntimeError("no port free for both TCP and UDP")

    def stop(self):
        """SIGTERM, at most 10 s; then SIGKILL, at most 5 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.pid = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc):
        self.stop()
        if os.environ.get("KMSDNS_KEEP"):
            print("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def log(self):
        text = ""
        for name in sorted({self.log_path, os.path.join(self.dir, "%s.stderr" % self.label)}):
            try:
                with open(name, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def output_tail(self, n=20):
        return "\n".join(self.log().splitlines()[-n:])


class Knot(_Server):
    """A private knotd (Knot DNS 3.2) in the foreground: knot.conf, zone
    files, LMDB databases, control socket and log (debug level: each ACL
    decision is there, "ACL, denied, action update, ... key '...'") in its
    temp dir."""

    label = "knot"
    programs = ("knotd", "tsig-keygen", "dig")

    def argv(self):
        return ["knotd", "-c", os.path.join(self.dir, "knot.conf")]

    def configure(self):
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        zdir = os.path.join(self.dir, "zones")
        os.makedirs(zdir, exist_ok=True)
        self.write_zones(zdir)
        keys = ""
        for path in (self.key_file, self.other_key_file):
            name, alg, secret = read_key(path)
            keys += "  - id: %s\n    algorithm: %s\n    secret: %s\n" % (name, alg, secret)
        conf = """\
server:
    rundir: {dir}
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

log:
  - target: {log}
    any: debug

control:
    listen: {dir}/knot.sock

database:
    storage: {dir}/db

key:
{keys}
acl:
  # zones/named.conf.in: grant kms-publisher. subdomain _vlmcs._tcp.<zone>. SRV
  # (kms-other. is known, in no ACL: granted nothing)
  - id: publisher
    key: kms-publisher.
    action: update
    update-owner: name
    update-owner-name: _vlmcs._tcp
    update-owner-match: sub-or-equal
    update-type: SRV

template:
  - id: default
    storage: {zdir}
    file: "%s.zone"
    semantic-checks: on
    acl: publisher

zone:
  - domain: kms.test
  - domain: corp.test
""".format(dir=self.dir, port=self.port, log=self.log_path, keys=keys, zdir=zdir)
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write(conf)

    def update_count(self):
        """UPDATE messages Knot processed (denied ones are not logged at info)."""
        return self.log().count("DDNS, processing")


LUA_POLICY = """\
-- zones/named.conf.in: grant kms-publisher. subdomain _vlmcs._tcp.<zone>. SRV
function updatepolicy(r)
  local key = r:getTsigName()
  if key == nil or not key:equal("kms-publisher.") then
    return false
  end
  local owner = newDN("_vlmcs._tcp." .. r:getZoneName():toString())
  return r:getQType() == pdns.SRV and r:getQName():isPartOf(owner)
end
"""


def _schema_sql():
    for path in ("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
                 "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql.gz",
                 "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:
                return f.read()
    raise NotInstalled("the gsqlite3 schema (pdns-backend-sqlite3) is not installed")


class PowerDNS(_Server):
    """A private pdns_server (PowerDNS Authoritative 4.7, gsqlite3 backend)
    in the foreground: pdns.conf (--config-dir), the SQLite database, the
    control socket and its output in its temp dir; zones loaded with
    pdnsutil load-zone against the same config.  policy: "metadata" or
    "lua" (see the module docstring)."""

    label = "pdns"
    programs = ("pdns_server", "pdnsutil", "tsig-keygen", "dig")

    def __init__(self, hosts=0, policy="metadata"):
        if policy not in ("metadata", "lua"):
            raise ValueError("policy: metadata or lua")
        self.policy = policy
        super().__init__(hosts)
        self.db = os.path.join(self.dir, "pdns.sqlite3")
        self.log_path = os.path.join(self.dir, "pdns.stderr")  # pdns logs to stderr

    def argv(self):
        return ["pdns_server", "--config-dir=" + self.dir]

    def configure(self):
        settings = [
            "launch=gsqlite3",
            "gsqlite3-database=" + self.db,
            "local-address=127.0.0.1",
            "local-port=%d" % self.port,
            "dnsupdate=yes",
            "allow-dnsupdate-from=127.0.0.0/8",
            "daemon=no",
            "guardian=no",
            "write-pid=no",
            "socket-dir=" + self.dir,
            "disable-syslog=yes",
            "log-timestamp=no",
            "loglevel=6",
            "security-poll-suffix=",  # no query to the outside at start
            "primary=no",
            "webserver=no",
            "api=no",
            "receiver-threads=1",
            "distributor-threads=1",
        ]
        if self.policy == "lua":
            lua = os.path.join(self.dir, "update-policy.lua")
            with open(lua, "w") as f:
                f.write(LUA_POLICY)
            settings.append("lua-dnsupdate-policy-script=" + lua)
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write("\n".join(settings) + "\n")
        if os.path.exists(self.db):
            return  # a retry on another port: the data is there
        with sqlite3.connect(self.db) as db:
            db.executescript(_schema_sql())
        paths = self.write_zones(self.dir)
        for zone, path in paths.items():
            out = run(["pdnsutil", "--config-dir=" + self.dir, "load-zone", zone, path],
                      timeout=30)
            if out.returncode != 0:
                raise RuntimeError("pdnsutil load-zone %s: %s" % (zone, out.stderr.strip()))
        with sqlite3.connect(self.db) as db:
            for path in (self.key_file, self.other_key_file):
                # stored as pdnsutil import-tsig-key stores it: the name
                # without its final dot (PowerDNS looks it up as a string)
                name, alg, secret = read_key(path)
                db.execute("INSERT INTO tsigkeys (name, algorithm, secret) VALUES (?, ?, ?)",
                           (name.rstrip("."), alg, secret))
            if self.policy == "metadata":
                for zone in paths:
                    db.execute("INSERT INTO domainmetadata (domain_id, kind, content) "
                               "SELECT id, 'TSIG-ALLOW-DNSUPDATE', 'kms-publisher' "
                               "FROM domains WHERE name = ?", (zone,))

    def update_count(self):
        """UPDATE messages that passed PowerDNS's TSIG check."""
        return len(re.findall(r"UPDATE \(\d+\) from [^ ]+ for [^:]+: Processing started",
                              self.log()))
