# SPDX-License-Identifier: MIT
"""kms-publish against a real named: records as a user sees them with dig.

Covers: exact TTL/priority/weight/port/target; a multi-domain list with
per-domain priority/weight across two zones, one UPDATE per zone; two hosts
in one domain and unpublishing one leaves the other; re-publishing with a
changed weight replaces exactly our RR; show; --verify; zone and primary
discovery through the SOA walk (no --server); --verify gives up at its bound
when one name server never serves the new state (the update still stands).
"""
import json
import time

from harness import Named, check, kms_publish

OWNER = "_vlmcs._tcp.kms.test"


def main():
    with Named(bench_domains=3, lagging_ns=True) as ns:
        S = ["--server", ns.server, "--key", ns.key_file]

        # 1. one record, exact data
        out = kms_publish("publish", *S, "--domain", "kms.test", "--target", "kms1.kms.test",
                          "--ttl", 1234, "--priority", 3, "--weight", 7, "--port", 1689)
        check(out.returncode == 0 and out.stderr == "", "publish failed", out)
        check(out.stdout.startswith("kms.test: ok: published _vlmcs._tcp.kms.test. 1234 IN SRV 3 7 "
                                    "1689 kms1.kms.test."), "result line", out)
        check(ns.srv(OWNER) == [(3, 7, 1689, "kms1.kms.test.", 1234)], "record as published")

        # 2. re-publish with another weight (and default port/ttl): exactly our RR replaced
        out = kms_publish("publish", *S, "--domain", "kms.test 3 20", "--target", "kms1.kms.test",
                          "--ttl", 1234, "--port", 1689, "--json")
        check(out.returncode == 0, "re-publish", out)
        j = json.loads(out.stdout)
        check(j["ok"] and j["results"][0]["replaced"] is True, "replaced flag", out)
        check(ns.srv(OWNER) == [(3, 20, 1689, "kms1.kms.test.", 1234)], "old weight gone")

        # 3. a second host publishes at the same name; unpublishing it leaves ours
        out = kms_publish("publish", *S, "--domain", "kms.test", "--target", "kms2.kms.test",
                          "--ttl", 1234, "--weight", 1)
        check(out.returncode == 0, "second host", out)
        check(ns.srv(OWNER) == [(0, 1, 1688, "kms2.kms.test.", 1234),
                                (3, 20, 1689, "kms1.kms.test.", 1234)], "both hosts")
        mark = ns.log_mark()
        out = kms_publish("unpublish", *S, "--domain", "kms.test", "--target", "kms2.kms.test")
        check(out.returncode == 0 and "removed 1 record" in out.stdout, "unpublish", out)
        check(ns.srv(OWNER) == [(3, 20, 1689, "kms1.kms.test.", 1234)], "other host intact")
        dels = [l for l in ns.update_lines(mark) if "deleting" in l]
        check(len(dels) == 1 and "deleting an RR at _vlmcs._tcp.kms.test SRV" in dels[0],
              "exactly one RR deleted (class NONE), not the RRset: %r" % dels)
        # unpublishing again: nothing of ours there, still success
        out = kms_publish("unpublish", *S, "--domain", "kms.test", "--target", "kms2.kms.test")
        check(out.returncode == 0 and "not published" in out.stdout, "idempotent unpublish", out)

        # 4. a list over two zones with per-domain priority/weight: one UPDATE per zone
        mark = ns.log_mark()
        out = kms_publish("publish", *S, "--target", "kms3.kms.test", "--json",
                          "--domain", "d0001.kms.test 10 50, d0002.kms.test",
                          "--domain", "corp.test 20 60", "--domain", "d0003.kms.test 1 2")
        check(out.returncode == 0, "multi-domain publish", out)
        j = json.loads(out.stdout)
        check([r["zone"] for r in j["results"]] == ["kms.test.", "kms.test.", "corp.test.",
                                                    "kms.test."], "zones found", out)
        check(j["stats"]["updates"] == 2, "two UPDATE answers (one per zone)", out)
        check(ns.srv("_vlmcs._tcp.d0001.kms.test") == [(10, 50, 1688, "kms3.kms.test.", 3600)],
              "d0001")
        check(ns.srv("_vlmcs._tcp.d0002.kms.test") == [(0, 0, 1688, "kms3.kms.test.", 3600)],
              "d0002 defaults")
        check(ns.srv("_vlmcs._tcp.d0003.kms.test") == [(1, 2, 1688, "kms3.kms.test.", 3600)],
              "d0003")
        check(ns.srv("_vlmcs._tcp.corp.test") == [(20, 60, 1688, "kms3.kms.test.", 3600)],
              "corp.test")
        check(ns.update_messages(mark, zone="kms.test") == 1,
              "kms.test got one UPDATE: %r" % ns.update_lines(mark))
        check(ns.update_messages(mark, zone="corp.test") == 1, "corp.test got one UPDATE")
        # the same again: nothing to change, so no UPDATE at all; one domain
        # changed: an UPDATE for its zone only, the others said unchanged
        mark = ns.log_mark()
        out = kms_publish("publish", *S, "--target", "kms3.kms.test", "--json",
                          "--domain", "d0001.kms.test 10 50, d0002.kms.test",
                          "--domain", "corp.test 20 60", "--domain", "d0003.kms.test 1 2")
        j = json.loads(out.stdout)
        check(out.returncode == 0 and j["stats"]["updates"] == 0, "no UPDATE sent", out)
        check(all(r["unchanged"] and not r["replaced"] for r in j["results"]), "unchanged", out)
        check(j["results"][2]["message"] == "already published _vlmcs._tcp.corp.test. 3600 IN SRV "
              "20 60 1688 kms3.kms.test. (zone corp.test., server %s): nothing to change"
              % ns.server.replace(":", "#"), "says so", out)
        check(ns.update_lines(mark) == [], "named saw no UPDATE: %r" % ns.update_lines(mark))
        out = kms_publish("publish", *S, "--target", "kms3.kms.test", "--json",
                          "--domain", "d0001.kms.test 10 50, d0002.kms.test",
                          "--domain", "corp.test 20 61", "--domain", "d0003.kms.test 1 2")
        j = json.loads(out.stdout)
        check(out.returncode == 0 and j["stats"]["updates"] == 1, "one UPDATE", out)
        check([r["unchanged"] for r in j["results"]] == [True, True, False, True], "which", out)
        check(ns.update_messages(mark, zone="kms.test") == 0, "kms.test untouched")
        check(ns.srv("_vlmcs._tcp.corp.test") == [(20, 61, 1688, "kms3.kms.test.", 3600)],
              "corp.test changed")
        out = kms_publish("publish", *S, "--target", "kms3.kms.test", "--domain", "corp.test 20 60")
        check(out.returncode == 0 and ns.srv("_vlmcs._tcp.corp.test") ==
              [(20, 60, 1688, "kms3.kms.test.", 3600)], "back as before", out)

        # 5. show lists every record at the name, ours or not
        out = kms_publish("show", "--server", ns.server, "--domain", "kms.test,corp.test")
        check(out.returncode == 0, "show", out)
        check(out.stdout == "kms.test: _vlmcs._tcp.kms.test. 1234 IN SRV 3 20 1689 kms1.kms.test.\n"
                            "corp.test: _vlmcs._tcp.corp.test. 3600 IN SRV 20 60 1688 "
                            "kms3.kms.test.\n", "show output", out)

        # 6. discovery without --server: SOA walk + MNAME (ns1.kms.test = 127.0.0.1),
        #    then --verify asks every NS of the zone
        out = kms_publish("publish", "--resolver", ns.server, "--key", ns.key_file,
                          "--domain", "corp.test", "--target", "winkms.corp.test", "--verify",
                          "--verify-timeout", 10)
        check(out.returncode == 0, "discovery + verify", out)
        check("zone corp.test., server 127.0.0.1#%d" % ns.port in out.stdout, "primary found", out)
        check("verified on 1 name server" in out.stdout, "verified", out)
        check((0, 0, 1688, "winkms.corp.test.", 3600) in ns.srv("_vlmcs._tcp.corp.test"),
              "sidecar record")
        out = kms_publish("unpublish", "--resolver", ns.server, "--key", ns.key_file,
                          "--domain", "corp.test", "--target", "winkms.corp.test", "--verify",
                          "--verify-timeout", 10)
        check(out.returncode == 0 and "verified on 1 name server" in out.stdout,
              "unpublish + verify", out)
        check(ns.srv("_vlmcs._tcp.corp.test") == [(20, 60, 1688, "kms3.kms.test.", 3600)],
              "only the sidecar record went")

        # 7. lag.test has a second NS (ns2.lag.test, 127.0.0.2) that never
        #    answers: --verify gives up at its bound, names that server, exits
        #    non-zero; the update itself stands
        for op, done in (("publish", "updated"), ("unpublish", "removed")):
            t0 = time.monotonic()
            out = kms_publish(op, *S, "--domain", "lag.test", "--target", "kms.lag.test",
                              "--verify", "--verify-timeout", 2, "--json")
            took = time.monotonic() - t0
            check(out.returncode != 0, op + " --verify with a dead NS must fail", out)
            res = json.loads(out.stdout)["results"][0]
            check(not res["ok"] and not res["verified"] and res["error"] == "KMS_ETIMEOUT",
                  op + " verify result", out)
            check(res["message"] == "%s, but name server ns2.lag.test. does not serve the new "
                  "state of _vlmcs._tcp.lag.test. after 2 s" % done, op + " message", out)
            check(1.9 <= took < 3.0, "%s --verify-timeout 2 took %.2f s" % (op, took), out)
            want = [(0, 0, 1688, "kms.lag.test.", 3600)] if op == "publish" else []
            check(ns.srv("_vlmcs._tcp.lag.test") == want, op + " done on the primary anyway")

        # 8. "ours" is our target AND port: a record at our target with another
        #    port (another service of that host) survives publish and unpublish
        owner = "_vlmcs._tcp.d0003.kms.test"
        out = ns.nsupdate("update add %s. 600 IN SRV 0 0 1690 kms1.kms.test." % owner)
        check(out.returncode == 0, "nsupdate other port", out)
        for op in ("publish", "unpublish"):
            out = kms_publish(op, *S, "--domain", "d0003.kms.test", "--target", "kms1.kms.test",
                              "--port", 1689, "--ttl", 600)
            check(out.returncode == 0 and "replaced" not in out.stdout, op + " other port", out)
        mine = [r for r in ns.srv(owner) if r[3] == "kms1.kms.test."]
        check(mine == [(0, 0, 1690, "kms1.kms.test.", 600)], "other port left alone: %r" % mine)
    print("ok")


if __name__ == "__main__":
    main()
