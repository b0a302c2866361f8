#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bind + activation round trips against a real kmsd (tests/tools/kms_client)."""

import struct
import uuid

import harness
from harness import (EXAMPLE_KEY, PTYPE_BIND_ACK, PTYPE_FAULT, PTYPE_RESPONSE, act_stub, bind_pdu,
                     connect, kms_client, read_pdu, request_pdu, response_hresult)


class HostExchange(harness.KmsdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.kmsd().start()

    def serve_default(self):
        self.d.ctl("ipk", EXAMPLE_KEY)
        self.d.ctl("ato")

    def test_served_product_counts_distinct_clients(self):
        self.serve_default()
        counts = []
        for i in range(4):
            cid = str(uuid.UUID(int=0x1000 + i))
            rc, kv, r = kms_client("127.0.0.1", self.d.port, "--client-id", cid)
            self.assertEqual(rc, 0, r.stdout + r.stderr)
            self.assertEqual(kv.get("error"), "0", r.stdout)
            self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
            self.assertEqual(kv.get("client_machine_id"), cid)
            counts.append(int(kv["current_count"]))
        self.assertEqual(counts, [1, 2, 3, 4])
        # The same client again does not grow the count.
        rc, kv, r = kms_client("127.0.0.1", self.d.port, "--client-id", str(uuid.UUID(int=0x1000)))
        self.assertEqual(kv.get("current_count"), "4", r.stdout)
        st = self.d.ctl("status").stdout
        self.assertIn("activations_ok=5", st)
        self.stop_clean(self.d)

    def test_unserved_product_is_refused(self):
        # Nothing installed yet.
        rc, kv, r = kms_client("127.0.0.1", self.d.port)
        self.assertEqual(kv.get("stage"), "request", r.stdout + r.stderr)
        self.assertEqual(kv.get("status"), "0xC004F042", r.stdout)
        # Installed but not enabled (no ato): still refused.
        self.d.ctl("ipk", EXAMPLE_KEY)
        rc, kv, r = kms_client("127.0.0.1", self.d.port)
        self.assertEqual(kv.get("status"), "0xC004F042", r.stdout)
        # Windows served, Office asked for: refused.
        self.d.ctl("ato")
        rc, kv, r = kms_client("127.0.0.1", self.d.port, "--app", "office")
        self.assertEqual(kv.get("status"), "0xC004F042", r.stdout)
        rc, kv, r = kms_client("127.0.0.1", self.d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(self.d)

    def test_malformed_message_answered_invalid_data(self):
        """A bad plain message in good NDR gets 0x8007000D and the connection
        stays; bad NDR around the message gets the fault nca_s_fault_ndr."""
        self.serve_default()
        plain_minor0 = struct.pack("<HH", 0, 0x4B50) + bytes(106)
        unknown_major = struct.pack("<HH", 1, 9) + bytes(106)
        with connect("127.0.0.1", self.d.port) as s:
            s.sendall(bind_pdu())
            self.assertEqual(read_pdu(s)[0], PTYPE_BIND_ACK)
            for i, msg in enumerate((plain_minor0, unknown_major)):
                s.sendall(request_pdu(act_stub(msg), call_id=2 + i))
                ptype, pdu = read_pdu(s)
                self.assertEqual(ptype, PTYPE_RESPONSE, pdu.hex())
                self.assertEqual(response_hresult(pdu), 0x8007000D)
            # NDR sizes that disagree: a fault, still on the same connection.
            s.sendall(request_pdu(struct.pack("<II", 8, 9) + bytes(8), call_id=9))
            ptype, pdu = read_pdu(s)
            self.assertEqual(ptype, PTYPE_FAULT)
            self.assertEqual(harness.fault_status(pdu), 0x000006F7)
        self.assertEqual(self.d.stat("malformed"), 2)
        self.assertEqual(self.d.stat("activations_failed"), 2)
        self.assertIn("malformed message", self.d.log())
        rc, kv, r = kms_client("127.0.0.1", self.d.port)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(self.d)

    def test_bind_ack_names_the_listening_port(self):
        """bind_ack's secondary address is the port kmsd listens on (not 1688)."""
        self.assertNotEqual(self.d.port, 1688)
        hosts = ["127.0.0.1"] + (["::1"] if harness.have_ipv6() else [])
        for host in hosts:
            with connect(host, self.d.port) as s:
                s.sendall(bind_pdu())
                ptype, pdu = read_pdu(s)
                self.assertEqual(ptype, PTYPE_BIND_ACK)
                self.assertEqual(harness.bind_ack_sec_addr(pdu), str(self.d.port), host)
        self.stop_clean(self.d)

    def test_windows_style_bind(self):
        self.serve_default()
        rc, kv, r = kms_client("127.0.0.1", self.d.port, "--windows-bind")
        self.assertEqual(rc, 0, r.stdout + r.stderr)
        # Context 0 (NDR32) accepted, 1 (NDR64) rejected, 2 negotiate_ack.
        self.assertTrue(kv.get("bind_result_0", "").startswith("0:"), r.stdout)
        self.assertTrue(kv.get("bind_result_1", "").startswith("2:"), r.stdout)
        self.assertTrue(kv.get("bind_result_2", "").startswith("3:"), r.stdout)
        self.assertEqual(kv.get("status"), "0x00000000", r.stdout)
        self.stop_clean(self.d)

    def test_ipv4_and_ipv6_listeners(self):
        if not harness.have_ipv6():
            self.skipTest("no IPv6 loopback")
        self.serve_default()
        for host in ("127.0.0.1", "::1"):
            rc, kv, r = kms_client(host, self.d.port)
            self.assertEqual(kv.get("status"), "0x00000000", host + ": " + r.stdout + r.stderr)
        self.assertIn("127.0.0.1:%d" % self.d.port, self.d.log())
        self.assertIn("[::1]:%d" % self.d.port, self.d.log())
        self.stop_clean(self.d)

    def test_ipv6_only_socket_leaves_ipv4_alone(self):
        """A [::] listener must not take IPv4 (no v4-mapped reliance): a
        v6-only kmsd and a v4 listener of someone else coexist on one port."""
        if not harness.have_ipv6():
            self.skipTest("no IPv6 loopback")
        port = harness.free_port()
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
            other.bind(("127.0.0.1", port))
            other.listen(1)
            # [::] dual-stack would collide with 127.0.0.1:port (EADDRINUSE).
            d6 = self.kmsd("v6", listen=["[::]:%d" % port], port=port).start()
            self.assertTrue(harness.bind_ok("::1", port))
            self.stop_clean(d6)


if __name__ == "__main__":
    harness.main()
