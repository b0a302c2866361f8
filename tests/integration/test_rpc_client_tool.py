#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kms_client against rpc_test_server (rpc/conn on a real TCP listener):
the exchange, both bind styles, malformed input over the wire, exit codes."""
import struct
import subprocess

from harness import check, program, run


def run_client(*args):
    """kms_client with a 2 s timeout; the first value of each key wins."""
    p = run([program("kms_client"), "--timeout", "2000", *args], timeout=30)
    kv = {}
    for line in p.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            kv.setdefault(k, v)
    return p.returncode, kv, p.stdout


def main():
    srv = subprocess.Popen([program("rpc_test_server"), "0", "60"],
                           stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        check(line.startswith("port="), "server printed its port")
        addr = "127.0.0.1:" + line.strip().split("=")[1]

        rc, kv, out = run_client("--client-id", "6ff1c5c4-3a2e-4d8b-9c1a-0b1e2f3a4b5c",
                                 "--required", "5", "--workstation", "pc01", addr)
        check(rc == 0, "plain exchange exits 0: " + out)
        check(kv["stage"] == "request" and kv["error"] == "0", "exchange completed")
        check(kv["status"] == "0x00000000", "status printed as 0x%08X")
        check(kv["current_count"] == "6", "count computed by the server from --required")
        check(kv["client_machine_id"] == "6ff1c5c4-3a2e-4d8b-9c1a-0b1e2f3a4b5c", "CMID echoed")
        check(kv["renewal_interval"] == "10080", "renewal interval")

        rc, kv, out = run_client("--windows-bind", addr)
        check(rc == 0, "windows-style bind exchange: " + out)
        check(kv["bind_result_0"] == "0:0" and kv["bind_result_1"] == "2:2"
              and kv["bind_result_2"] == "3:0", "three results in order: " + out)

        rc, kv, out = run_client("--bind-only", "--repeat", "3", addr)
        check(rc == 0 and out.count("bind_result=accepted") == 3, "three binds: " + out)

        # A bind from rpc version 5.7 gets a bind_nak (reason 4), not a dropped socket.
        kms_if = bytes.fromhex("7521c8514e845047b0d8ec255555bc06") + struct.pack("<HH", 1, 0)
        ndr32 = bytes.fromhex("045d888aeb1cc9119fe808002b104860") + struct.pack("<HH", 2, 0)
        body = struct.pack("<HHIB3x", 5840, 5840, 0, 1) + struct.pack("<HBx", 0, 1) + kms_if + ndr32
        bind = struct.pack("<BBBB4sHHI", 5, 7, 11, 3, b"\x10\0\0\0", 16 + len(body), 0, 1) + body
        rc, kv, out = run_client("--raw-hex", bind.hex(), addr)
        check(kv.get("reply", "")[:6] == "05000d", "bind_nak answers a 5.7 bind: " + out)
        check(kv.get("reply", "")[32:36] == "0400", "reason protocol_version_not_supported")

        # Garbage closes that connection only.
        rc, kv, out = run_client("--raw-hex", "ff" * 32, addr)
        check(kv.get("closed") == "1" and "reply" not in kv, "garbage closes: " + out)
        # A request before any bind closes the connection (no answer).
        req = "050000031000000020000000010000000800000000000000" + "00" * 8
        rc, kv, out = run_client("--raw-hex", req, addr)
        check(kv.get("closed") == "1" and "reply" not in kv, "request before bind: " + out)

        rc, kv, out = run_client("--bind-only", addr)
        check(rc == 0, "the server still serves after malformed input")
    finally:
        srv.terminate()
        srv.wait(timeout=10)

    # Nobody listening: exit 2, stage connect.
    rc, kv, out = run_client(addr)
    check(rc == 2 and kv["stage"] == "connect" and kv["error"] == "KMS_ECONNREFUSED",
          "refused: " + out)
    rc, _, _ = run_client("--bogus", addr)
    check(rc == 1, "usage error exits 1")
    print("ok")


if __name__ == "__main__":
    main()
