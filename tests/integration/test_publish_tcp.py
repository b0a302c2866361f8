# SPDX-License-Identifier: MIT
"""Messages that do not fit UDP go over TCP; truncated answers are retried
over TCP.

An UPDATE for 40 domains of one zone is far over 512 bytes once signed: it
must be sent over TCP (the transport counter in --json says so) and still be
one UPDATE.  A show of a name with 30 SRV records gets a truncated UDP
answer and must retry over TCP to list all 30.
"""
import json

from harness import Named, check, kms_publish


def main():
    with Named(bench_domains=40) as ns:
        doms = ", ".join("d%04d.kms.test %d 5" % (i, i) for i in range(1, 41))
        mark = ns.log_mark()
        out = kms_publish("publish", "--server", ns.server, "--key", ns.key_file,
                          "--domain", doms, "--target", "kms1.kms.test", "--json")
        check(out.returncode == 0, "40-domain publish", out)
        j = json.loads(out.stdout)
        st = j["stats"]
        check(st["updates"] == 1, "one UPDATE for the zone", out)
        check(st["tcp"] >= 1, "the UPDATE went over TCP", out)
        # with --server, one SRV query per domain finds both its zone and its
        # current state, one more reads the change back after the NOERROR
        # (both over UDP); the UPDATE is the only TCP exchange
        check(st["queries"] == 80 and st["udp"] == 80, "two queries per domain over UDP", out)
        check(ns.update_messages(mark, zone="kms.test") == 1, "named saw one UPDATE")
        adds = [l for l in ns.update_lines(mark) if "adding an RR" in l]
        check(len(adds) == 40, "40 RRs added")
        check(ns.srv("_vlmcs._tcp.d0040.kms.test") == [(40, 5, 1688, "kms1.kms.test.", 3600)],
              "last record")

        # 30 hosts at one name: the SRV answer is truncated over UDP
        body = "\n".join("update add _vlmcs._tcp.kms.test. 600 IN SRV 0 0 1688 "
                         "host%02d.kms.test." % i for i in range(30))
        r = ns.nsupdate(body, zone="kms.test")
        check(r.returncode == 0, "nsupdate: " + r.stderr)
        out = kms_publish("show", "--server", ns.server, "--domain", "kms.test", "--json")
        check(out.returncode == 0, "show", out)
        j = json.loads(out.stdout)
        check(len(j["results"][0]["records"]) == 30, "all 30 records listed", out)
        check(j["stats"]["tc_fallbacks"] >= 1 and j["stats"]["tcp"] >= 1, "TC -> TCP", out)
    print("ok")


if __name__ == "__main__":
    main()
