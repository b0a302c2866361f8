#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bad and slow clients: each closes only its own connection; kmsd keeps serving."""

import re
import socket
import struct
import time

import harness
from harness import EXAMPLE_KEY, bind_ok, bind_pdu, connect, kms_client, read_pdu, wait_closed

IDLE = 2


class Robustness(harness.KmsdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.kmsd(extra={"host": {"idle_timeout": str(IDLE), "max_connections": "8",
                                           "max_pdu": "4096"}}).start()
        self.d.ctl("ipk", EXAMPLE_KEY)
        self.d.ctl("ato")

    def assert_still_serving(self):
        rc, kv, r = kms_client("127.0.0.1", self.d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout + r.stderr)
        self.assertTrue(self.d.alive())

    def test_malformed_bytes(self):
        cases = [b"\x00" * 16,                          # rpc_vers 0
                 b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not RPC at all
                 struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\0\0\0", 8, 0, 1),  # frag_length < 16
                 struct.pack("<BBBB4sHHI", 5, 0, 99, 3, b"\x10\0\0\0", 16, 0, 1),  # unknown ptype
                 bind_pdu()[:20] + b"\xff" * 4 + bind_pdu()[24:50]]  # garbage inside a PDU
        for i, data in enumerate(cases):
            with connect("127.0.0.1", self.d.port) as s:
                s.sendall(data)
                self.assertTrue(wait_closed(s, 5), "case %d not closed" % i)
            self.assert_still_serving()
        self.assertGreaterEqual(self.d.stat("malformed"), 3)

    def test_oversize_frag_length(self):
        with connect("127.0.0.1", self.d.port) as s:
            # frag_length 60000 > max_pdu 4096: closed from the header alone.
            s.sendall(struct.pack("<BBBB4sHHI", 5, 0, 0, 3, b"\x10\0\0\0", 60000, 0, 1))
            self.assertTrue(wait_closed(s, 5))
        self.assert_still_serving()
        self.assertIn("malformed", self.d.log())

    def test_pdu_in_pieces_within_the_bound_is_served(self):
        """A bind sent in pieces is served when its last byte arrives within
        idle_timeout of its first; the next PDU gets a bound of its own, so a
        connection lives longer than idle_timeout as long as each PDU is on time."""
        with connect("127.0.0.1", self.d.port) as s:
            t0 = time.monotonic()
            for call_id in (1, 2, 3):
                pdu = bind_pdu(call_id=call_id)
                for i in range(0, len(pdu), 20):
                    s.sendall(pdu[i:i + 20])
                    time.sleep(0.1)  # about 0.4 s per PDU, well within IDLE
                ptype, ack = read_pdu(s, 5)
                self.assertIn(ptype, (harness.PTYPE_BIND_ACK, harness.PTYPE_BIND_NAK), call_id)
                self.assertEqual(struct.unpack_from("<I", ack, 12)[0], call_id)
                time.sleep(IDLE * 0.6)  # idle between PDUs, less than IDLE each time
            self.assertGreater(time.monotonic() - t0, IDLE)
        self.assert_still_serving()

    def test_slow_client_closed(self):
        """A PDU dribbled with gaps shorter than idle_timeout, but not complete
        idle_timeout after its first byte: the connection is closed, logged."""
        pdu = bind_pdu()
        closed_before = self.d.stat("idle_closed")
        with connect("127.0.0.1", self.d.port) as s:
            t0 = time.monotonic()
            closed = False
            for b in pdu:
                try:
                    s.sendall(bytes([b]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                if wait_closed(s, IDLE / 4):  # each gap well below IDLE
                    closed = True
                    break
                if time.monotonic() - t0 > IDLE + 5:
                    break
            elapsed = time.monotonic() - t0
            self.assertTrue(closed, "a dribbling client was not closed")
            self.assertGreater(elapsed, IDLE - 0.5)
            self.assertLess(elapsed, IDLE + 2)
        self.assertTrue(self.d.wait_log("slow client"), self.d.log_tail())
        self.assertEqual(self.d.stat("idle_closed"), closed_before + 1)
        self.assert_still_serving()

    def test_slow_fragmented_request_closed(self):
        """A request sent as fragments, each on time but the last never:
        the bound runs from the request's first byte, not per fragment."""
        closed_before = self.d.stat("idle_closed")
        with connect("127.0.0.1", self.d.port) as s:
            s.sendall(bind_pdu())
            ptype, _ = read_pdu(s, 5)
            self.assertEqual(ptype, harness.PTYPE_BIND_ACK)
            t0 = time.monotonic()
            closed, flags = False, 0x01  # PFC_FIRST_FRAG, then middle fragments
            while time.monotonic() - t0 < IDLE + 5:
                body = struct.pack("<IHH", 4096, 0, 0) + b"\0" * 8
                try:
                    s.sendall(harness.rpc_header(harness.PTYPE_REQUEST, len(body), 2, flags) +
                              body)
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                flags = 0x00
                if wait_closed(s, IDLE / 4):  # each fragment well within IDLE
                    closed = True
                    break
            elapsed = time.monotonic() - t0
            self.assertTrue(closed, "a client dribbling fragments was not closed")
            self.assertLess(elapsed, IDLE + 2)
        self.assertTrue(self.d.wait_log("slow client"), self.d.log_tail())
        self.assertEqual(self.d.stat("idle_closed"), closed_before + 1)
        self.assert_still_serving()

    def test_served_while_slow_and_idle_clients_connected(self):
        idle = connect("127.0.0.1", self.d.port)
        slow = connect("127.0.0.1", self.d.port)
        try:
            t0 = time.monotonic()
            slow.sendall(bind_pdu()[:10])
            rc, kv, r = kms_client("127.0.0.1", self.d.port)
            self.assertEqual(kv.get("status"), "0x00000000", r.stdout + r.stderr)
            self.assertLess(time.monotonic() - t0, IDLE - 0.5, "too slow to test the overlap")
            self.assertFalse(wait_closed(idle, 0.1), "idle client closed too early")
            self.assertFalse(wait_closed(slow, 0.1), "slow client closed too early")
            # Then both go, on time.
            self.assertTrue(wait_closed(idle, IDLE + 3))
            self.assertTrue(wait_closed(slow, IDLE + 3))
        finally:
            idle.close()
            slow.close()
        self.assert_still_serving()

    def test_idle_closes_logged_at_info_and_aggregated(self):
        """Many idle clients at once: one info line, the rest counted into the next."""
        self.d.stop()
        self.d.write_config({"host": {"idle_timeout": str(IDLE), "max_connections": "8",
                                      "log_level": "info"}})
        self.d.start()
        socks = [connect("127.0.0.1", self.d.port) for _ in range(6)]
        try:
            for s in socks:
                self.assertTrue(wait_closed(s, IDLE + 5))
        finally:
            for s in socks:
                s.close()
        time.sleep(1.2)
        with connect("127.0.0.1", self.d.port) as s:
            self.assertTrue(wait_closed(s, IDLE + 5))
        self.assertTrue(self.d.wait_log("more since the previous line"), self.d.log_tail())
        lines = [ln for ln in self.d.log().splitlines() if ": idle for %d s" % IDLE in ln]
        self.assertTrue(all(": info: " in ln for ln in lines), lines)
        # Seven idle closes, at most three lines (the first, perhaps one more if
        # the burst straddled a second, and the late one carrying the count).
        self.assertLessEqual(len(lines), 3, lines)
        self.assertRegex(lines[-1], r"; [1-5] more since the previous line")
        self.assertEqual(self.d.stat("idle_closed"), 7)

    def test_idle_client_closed(self):
        with connect("127.0.0.1", self.d.port) as s:
            t0 = time.monotonic()
            self.assertTrue(wait_closed(s, IDLE + 5))
            elapsed = time.monotonic() - t0
            self.assertGreater(elapsed, IDLE - 0.5)
        # Half a PDU, then silence: also closed (as a slow client).
        with connect("127.0.0.1", self.d.port) as s:
            s.sendall(bind_pdu()[:30])
            self.assertTrue(wait_closed(s, IDLE + 5))
        self.assertIn("idle for %d s" % IDLE, self.d.log())
        self.assertGreaterEqual(self.d.stat("idle_closed"), 2)
        self.assert_still_serving()

    def test_max_connections(self):
        held = []
        try:
            for _ in range(8):
                s = connect("127.0.0.1", self.d.port)
                s.sendall(bind_pdu())
                self.assertEqual(read_pdu(s)[0], harness.PTYPE_BIND_ACK)
                held.append(s)
            # The ninth is accepted and closed at once.
            try:
                extra = connect("127.0.0.1", self.d.port)
            except ConnectionResetError:
                extra = None  # reset before connect() even returned
            if extra is not None:
                try:
                    extra.sendall(bind_pdu())
                except OSError:
                    pass
                self.assertTrue(wait_closed(extra, 5))
                extra.close()
            self.assertGreaterEqual(self.d.stat("connections_rejected"), 1)
            # The held connections still answer (a second bind gets bind_nak).
            held[0].sendall(bind_pdu(call_id=2))
            self.assertIn(read_pdu(held[0])[0], (harness.PTYPE_BIND_ACK, harness.PTYPE_BIND_NAK))
        finally:
            for s in held:
                s.close()
        # Once they are gone, new clients are served again (bounded wait).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if bind_ok("127.0.0.1", self.d.port):
                break
            time.sleep(0.1)
        self.assert_still_serving()
        self.assertIn("max_connections", self.d.log())

    def test_many_pdus_in_one_write_and_split_across_writes(self):
        pdus = bind_pdu(call_id=1) + bind_pdu(call_id=2) + bind_pdu(call_id=3)
        with connect("127.0.0.1", self.d.port) as s:
            s.sendall(pdus[:10])
            time.sleep(0.05)
            s.sendall(pdus[10:100])
            time.sleep(0.05)
            s.sendall(pdus[100:])
            # The first bind is accepted; the association answers the repeated
            # binds too (bind_nak), each with its own call_id, in order.
            for want in (1, 2, 3):
                ptype, pdu = read_pdu(s)
                self.assertIn(ptype, (harness.PTYPE_BIND_ACK, harness.PTYPE_BIND_NAK))
                if want == 1:
                    self.assertEqual(ptype, harness.PTYPE_BIND_ACK)
                self.assertEqual(struct.unpack_from("<I", pdu, 12)[0], want)

    def test_client_vanishes_mid_exchange(self):
        vanished = 0
        deadline = time.monotonic() + 30
        while vanished < 20:
            self.assertLess(time.monotonic(), deadline, "could not connect 20 times in 30 s")
            s = None
            try:
                s = connect("127.0.0.1", self.d.port)
                s.sendall(bind_pdu() * 50)
            except (ConnectionResetError, BrokenPipeError):
                # kmsd was still closing earlier ones and at max_connections
                # (8): it refused this one with RST, as it should.  Again.
                if s:
                    s.close()
                time.sleep(0.05)
                continue
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # RST with replies in flight
            vanished += 1
        self.assert_still_serving()

    def tearDown(self):
        if self.d.alive():
            self.assertEqual(self.d.stop(), 0, self.d.log_tail())
        super().tearDown()


class DescriptorLimit(harness.KmsdTestCase):
    """kmsd under a low open-file limit (ulimit -n 64) with clients pouring
    in: it never dies for lack of descriptors, refuses what does not fit,
    and kmsctl keeps working."""

    def test_out_of_descriptors(self):
        d = self.kmsd(extra={"host": {"max_connections": "1000", "idle_timeout": "30"}})
        d.start(nofile=(64, 64))
        d.ctl("ipk", EXAMPLE_KEY)
        d.ctl("ato")
        # It says at start that 1000 connections cannot fit, and what it serves.
        self.assertRegex(d.log(), r"max_connections 1000 does not fit the open-file limit of 64 "
                                  r"\(ulimit -n, LimitNOFILE=\): at most \d+ connections at once")
        cap = int(re.search(r"at most (\d+) connections", d.log()).group(1))
        self.assertGreater(cap, 0)
        self.assertLess(cap, 64)
        held, refused = [], 0
        try:
            # 2 x 64 clients: the first `cap` are served, the rest refused
            for _ in range(128):
                try:
                    s = connect("127.0.0.1", d.port)
                    s.sendall(bind_pdu())
                    if read_pdu(s)[0] == harness.PTYPE_BIND_ACK:
                        held.append(s)
                        continue
                except OSError:
                    pass
                refused += 1
            self.assertEqual(len(held), cap)
            self.assertEqual(refused, 128 - cap)
            # kmsd lives on (a glibc helper thread that cannot load libgcc_s
            # once descriptors run out used to abort it about a second in)
            time.sleep(2)
            self.assertTrue(d.alive(), d.log_tail())
            # kmsctl works while every connection slot is taken
            self.assertGreaterEqual(d.stat("connections_rejected"), 128 - cap)
            self.assertEqual(d.stat("connections_now"), cap)
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not bind_ok("127.0.0.1", d.port):
            time.sleep(0.1)
        rc, kv, r = kms_client("127.0.0.1", d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout + r.stderr)
        self.stop_clean(d)


if __name__ == "__main__":
    harness.main()
