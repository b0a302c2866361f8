# SPDX-License-Identifier: MIT
"""kms-publish against a scripted DNS server on 127.0.0.1 (answers named
cannot be made to give on demand): TSIG BADTIME with the server's clock 400 s
ahead is reported with the skew and not retried; SERVFAIL is retried the
bounded number of times, then explained; a malformed answer never crashes
and is retried like a lost one; --verify accepts our record when the server
gives its RRset another host's TTL."""
import os
import socket
import struct
import tempfile
import threading
import time

from harness import check, kms_publish, make_key


def name(n):
    out = b""
    for label in n.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, pos):
    labels = []
    while msg[pos]:
        ln = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + ln].decode())
        pos += 1 + ln
    return ".".join(labels) + ".", pos + 1


class FakeServer(threading.Thread):
    """Answers queries with NXDOMAIN + the kms.test SOA, and UPDATEs as told."""

    def __init__(self, update_answer, query_answer=None):
        super().__init__(daemon=True)
        self.query_answer = query_answer  # (mid, flags, qname, qtype, question) -> bytes|None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.update_answer = update_answer
        self.updates = 0
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                msg, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if len(msg) < 12:
                continue
            mid, flags = struct.unpack(">HH", msg[:4])
            opcode = (flags >> 11) & 0xF
            qname, pos = read_name(msg, 12)
            qtype = struct.unpack(">H", msg[pos:pos + 2])[0]
            question = msg[12:pos + 4]
            if opcode == 5:
                self.updates += 1
                reply = self.update_answer(mid, question, msg)
            elif self.query_answer and \
                    self.query_answer(mid, flags, qname, qtype, question) is not None:
                reply = self.query_answer(mid, flags, qname, qtype, question)
            else:
                rd = name("ns1.kms.test") + name("hostmaster.kms.test") + \
                    struct.pack(">IIIII", 1, 3600, 600, 86400, 300)
                soa = name("kms.test") + struct.pack(">HHIH", 6, 1, 300, len(rd)) + rd
                reply = struct.pack(">HHHHHH", mid, 0x8403 | (flags & 0x0100), 1, 0, 1, 0) + \
                    question + soa
            if reply:
                self.sock.sendto(reply, peer)


def badtime(mid, question, msg):
    now = int(time.time()) + 400
    rd = name("hmac-sha256") + struct.pack(">HIH", 0, now - 400, 300) + struct.pack(">H", 0) + \
        struct.pack(">HHH", mid, 18, 6) + struct.pack(">HI", now >> 32, now & 0xFFFFFFFF)
    tsig = name("kms-publisher") + struct.pack(">HHIH", 250, 255, 0, len(rd)) + rd
    return struct.pack(">HHHHHH", mid, 0xA809, 1, 0, 0, 1) + question + tsig


def servfail(mid, question, msg):
    return struct.pack(">HHHHHH", mid, 0xA802, 1, 0, 0, 0) + question


def garbage(mid, question, msg):
    return struct.pack(">HHHHHH", mid, 0xA800, 1, 5, 0, 0) + question + b"\xc0"


def noerror(mid, question, msg):
    return struct.pack(">HHHHHH", mid, 0xA800, 1, 0, 0, 0) + question


def rr(owner, rtype, ttl, rdata):
    return name(owner) + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


class OtherHostsTTL:
    """An authoritative server whose SRV RRset at _vlmcs._tcp.kms.test has
    another host's TTL (60): ours is served as published but for the TTL,
    as a server that gives one TTL to all records of an RRset does."""

    def __init__(self):
        self.srv_queries = 0

    def __call__(self, mid, flags, qname, qtype, question):
        head = lambda an, ar: struct.pack(">HHHHHH", mid, 0x8400 | (flags & 0x0100), 1, an, 0, ar)
        if qname == "_vlmcs._tcp.kms.test." and qtype == 33:
            self.srv_queries += 1
            recs = [rr(qname, 33, 60, struct.pack(">HHH", 0, 0, 1688) + name(t))
                    for t in ("kms1.kms.test", "kms2.kms.test")]
            return head(2, 0) + question + b"".join(recs)
        if qname == "kms.test." and qtype == 2:
            return head(1, 1) + question + rr("kms.test", 2, 300, name("ns1.kms.test")) + \
                rr("ns1.kms.test", 1, 300, bytes([127, 0, 0, 1]))
        return None


def ttl_of_another_host():
    """--verify accepts our record whatever its TTL (target, port, priority
    and weight must match)."""
    q = OtherHostsTTL()
    srv = FakeServer(noerror, q)
    srv.start()
    try:
        out = kms_publish("publish", "--server", "127.0.0.1:%d" % srv.port, "--allow-unsigned",
                          "--domain", "kms.test", "--target", "kms1.kms.test", "--ttl", 3600,
                          "--verify", "--verify-timeout", 3)
    finally:
        srv.stop = True
        srv.join(2)
    check(out.returncode == 0 and out.stderr == "", "verify with another host's TTL", out)
    check("verified on 1 name server" in out.stdout, "verified", out)
    check(q.srv_queries >= 2, "current state and verify queries: %d" % q.srv_queries, out)


def main():
    key = make_key(os.path.join(tempfile.mkdtemp(prefix="kms-fake."), "k.key"))
    for answer, attempts, want in (
            (badtime, 1, "NOTAUTH (TSIG BADTIME): clocks differ by 40"),
            (servfail, 3, "SERVFAIL (server failure; BIND also answers so when an RRset would "
             "exceed max-records-per-type)"),
            (garbage, 3, "malformed answer from 127.0.0.1#")):
        srv = FakeServer(answer)
        srv.start()
        try:
            out = kms_publish("publish", "--server", "127.0.0.1:%d" % srv.port, "--key", key,
                              "--domain", "kms.test", "--target", "kms1.kms.test",
                              "--attempts", 3, "--timeout", 0.5)
        finally:
            srv.stop = True
            srv.join(2)
        lines = [l for l in out.stderr.split("\n") if l]
        check(out.returncode == 1 and len(lines) == 1, "one line, failure", out)
        check(want in lines[0], "want %r" % want, out)
        check(lines[0].startswith("kms-publish: update ") or "malformed" in lines[0],
              "names the update", out)
        check(srv.updates == attempts, "%d UPDATE attempts, saw %d" % (attempts, srv.updates),
              out)
        if answer is badtime:
            check("(server ahead); fix the time on one side" in lines[0], "direction", out)
    ttl_of_another_host()
    print("ok")


if __name__ == "__main__":
    main()
