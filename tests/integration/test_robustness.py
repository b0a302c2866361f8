#!/usr/bin/env python3
"""Bad and slow clients: each closes only its own connection; kmsd keeps serving."""

import socket
import struct
import time

import kmstest
from kmstest import EXAMPLE_KEY, bind_ok, bind_pdu, connect, kms_client, read_pdu, wait_closed

IDLE = 2


class Robustness(kmstest.KmsdTestCase):
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

    def test_slow_client_is_served(self):
        """A bind trickled byte by byte (each gap < idle_timeout) gets its bind_ack."""
        pdu = bind_pdu()
        with connect("127.0.0.1", self.d.port) as s:
            t0 = time.monotonic()
            for b in pdu:
                s.sendall(bytes([b]))
                time.sleep(0.03)
            ptype, ack = read_pdu(s, 5)
            self.assertEqual(ptype, kmstest.PTYPE_BIND_ACK)
            # The whole trickle took longer than the idle timeout: it is reset per read.
            self.assertGreater(time.monotonic() - t0, IDLE)
        self.assert_still_serving()

    def test_idle_client_closed(self):
        with connect("127.0.0.1", self.d.port) as s:
            t0 = time.monotonic()
            self.assertTrue(wait_closed(s, IDLE + 5))
            elapsed = time.monotonic() - t0
            self.assertGreater(elapsed, IDLE - 0.5)
        # Half a PDU, then silence: also closed.
        with connect("127.0.0.1", self.d.port) as s:
            s.sendall(bind_pdu()[:30])
            self.assertTrue(wait_closed(s, IDLE + 5))
        self.assertGreaterEqual(self.d.stat("idle_closed"), 2)
        self.assert_still_serving()

    def test_max_connections(self):
        held = []
        try:
            for _ in range(8):
                s = connect("127.0.0.1", self.d.port)
                s.sendall(bind_pdu())
                self.assertEqual(read_pdu(s)[0], kmstest.PTYPE_BIND_ACK)
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
            self.assertIn(read_pdu(held[0])[0], (kmstest.PTYPE_BIND_ACK, kmstest.PTYPE_BIND_NAK))
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
                self.assertIn(ptype, (kmstest.PTYPE_BIND_ACK, kmstest.PTYPE_BIND_NAK))
                if want == 1:
                    self.assertEqual(ptype, kmstest.PTYPE_BIND_ACK)
                self.assertEqual(struct.unpack_from("<I", pdu, 12)[0], want)

    def test_client_vanishes_mid_exchange(self):
        for _ in range(20):
            s = connect("127.0.0.1", self.d.port)
            s.sendall(bind_pdu() * 50)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # RST with replies in flight
        self.assert_still_serving()

    def tearDown(self):
        if self.d.alive():
            self.assertEqual(self.d.stop(), 0, self.d.log_tail())
        super().tearDown()


if __name__ == "__main__":
    kmstest.main()
