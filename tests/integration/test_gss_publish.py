"""kms-publish signing with Kerberos (GSS-TSIG, RFC 3645) against a real MIT
KDC and a real named (zones/start-named --gss), whose kms.test lets a host
principal change only SRV records whose target is that host
(krb5-subdomain-self-rhs, ms-subdomain-self-rhs).

Covers: --gss with a ticket cache and with --keytab (publish, show,
unpublish), another host's record at the same name surviving; the AD
machine-account form KMS1$; a record for another host refused with the
policy line, exit 1, nothing changed; no ticket, an expired ticket, a wrong
server principal, an unreachable KDC, a keytab without the principal and a
skewed clock, each one clear line, exit 1, no UPDATE and no TKEY query
(the skew: BADTIME with the skew); one TKEY negotiation per run; interop
with BIND's nsupdate -g both ways.
"""
import os
import shutil
import time

from harness import Named, check, kms_publish, program, run

OWNER = "_vlmcs._tcp.kms.test"


def one_line(out):
    lines = [l for l in out.stderr.split("\n") if l]
    return lines[-1] if len(lines) == 1 else "<%d lines: %r>" % (len(lines), out.stderr)


def tkey_queries(ns, since):
    return [l for l in ns.query_lines(since) if " TKEY " in l]


def main():
    with Named(gss=True) as ns:
        A = ["--server", ns.server, "--domain", "kms.test"]
        kms1 = ["--target", "kms1.kms.test"]

        # 1. a ticket cache (kinit), as an admin would run it
        env1 = ns.kinit("kms1")
        out = kms_publish("publish", "--gss", *A, *kms1, env=env1)
        check(out.returncode == 0 and out.stderr == "", "publish --gss (ticket cache)", out)
        check(ns.srv(OWNER) == [(0, 0, 1688, "kms1.kms.test.", 3600)], "record published")
        # the update was signed by our principal (named's log names it)
        check(any("host/kms1.kms.test\\@KMS.TEST: updating zone" in l for l in ns.update_lines()),
              "named names the principal", ns.update_lines())
        out = kms_publish("show", "--gss", *A, env=env1)
        check(out.returncode == 0 and "kms1.kms.test." in out.stdout, "show --gss", out)

        # another host adds its own record with BIND's nsupdate -g
        env2 = ns.kinit("kms2")
        r = ns.nsupdate_gss("update add %s 3600 IN SRV 0 0 1688 kms2.kms.test." % OWNER, env2)
        check(r.returncode == 0, "nsupdate -g as kms2", r)

        # 2. a keytab, no ticket cache at all (kmsd's way)
        empty = ns.krb_env()
        mark = len(ns.log())
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          "--ttl", 600, env=empty)
        check(out.returncode == 0, "publish --gss --keytab", out)
        check(sorted(ns.srv(OWNER)) == [(0, 0, 1688, "kms1.kms.test.", 600),
                                        (0, 0, 1688, "kms2.kms.test.", 600)],
              "ttl changed, kms2 kept", ns.srv(OWNER))
        check(len(tkey_queries(ns, mark)) == 1, "one TKEY negotiation", tkey_queries(ns, mark))
        check(not os.path.exists(empty["KRB5CCNAME"][5:]), "the user's cache is not touched")
        out = kms_publish("unpublish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          env=empty)
        check(out.returncode == 0 and ns.srv(OWNER) == [(0, 0, 1688, "kms2.kms.test.", 600)],
              "unpublish removes only ours", out)

        # 3. the AD machine-account form: KMS1$@KMS.TEST may change kms1's record
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1-ad"], "--principal",
                          "KMS1$", *A, *kms1, env=empty)
        check(out.returncode == 0 and ("kms1.kms.test." in str(ns.srv(OWNER))),
              "KMS1$ publishes kms1's record", out)

        # 4. the policy: kms1 may not publish a record for kms3
        before = sorted(ns.srv(OWNER))
        out = kms_publish("publish", "--gss", *A, "--target", "kms3.kms.test", env=env1)
        check(out.returncode == 1, "other target: exit 1", out)
        check(one_line(out) == "kms-publish: update refused by %s#%d: REFUSED: the zone's "
              "policy does not let host/kms1.kms.test@KMS.TEST make this change (Kerberos self "
              "rules, krb5-self/ms-self in BIND and AD's secure updates, allow only records "
              "whose target is the principal's own host)" % ("127.0.0.1", ns.port),
              "policy line", out)
        check(sorted(ns.srv(OWNER)) == before, "nothing changed")

        # 5. faults: one clear line each, exit 1, no UPDATE, no storm
        ccache_missing = ns.krb_env()
        cases = [
            ("no ticket", ["--gss"], ccache_missing,
             "kms-publish: no Kerberos ticket in %s: run kinit, or use a keytab (--keytab FILE)"
             % ccache_missing["KRB5CCNAME"]),
            ("wrong server principal", ["--gss", "--keytab", ns.keytabs["kms1"],
                                        "--server-principal", "DNS/ns9.kms.test"], empty,
             "kms-publish: getting a ticket for DNS/ns9.kms.test@KMS.TEST: the KDC does not know "
             "server principal DNS/ns9.kms.test@KMS.TEST (give the DNS server's principal: "
             "--server-principal / server_principal)"),
            ("keytab without the principal", ["--gss", "--keytab", ns.keytabs["kms2"]], empty,
             "kms-publish: keytab %s holds no key for host/kms1.kms.test@KMS.TEST (klist -k %s "
             "lists what it holds; set the principal to one of them)"
             % (ns.keytabs["kms2"], ns.keytabs["kms2"])),
        ]
        out = kms_publish("unpublish", "--gss", *A, *kms1, env=env1)  # something to change
        for name, opts, env, line in cases:
            mark = len(ns.log())
            t0 = time.monotonic()
            out = kms_publish("publish", *opts, *A, *kms1, env=env)
            took = time.monotonic() - t0
            check(out.returncode == 1, name + ": exit 1", out)
            check(one_line(out) == line, name + ": the line", out)
            check(ns.update_lines(mark) == [], name + ": no UPDATE reached named")
            check(len(tkey_queries(ns, mark)) == 0, name + ": no TKEY query")
            check(took < 10, "%s: quick (%.1f s)" % (name, took))

        # an expired ticket: kinit with a 2-second life, then wait
        envx = ns.krb_env()
        r = run(["kinit", "-l", "2s", "-k", "-t", ns.keytabs["kms1"], ns.principals["kms1"]],
                env=envx, timeout=15)
        check(r.returncode == 0, "kinit -l 2s", r)
        time.sleep(3)
        out = kms_publish("publish", "--gss", *A, *kms1, env=envx)
        check(out.returncode == 1 and one_line(out).startswith(
            "kms-publish: the Kerberos ticket of host/kms1.kms.test@KMS.TEST expired at ")
            and one_line(out).endswith(": run kinit host/kms1.kms.test@KMS.TEST again"),
            "expired ticket line", out)

        # a skewed clock: Kerberos itself corrects for the KDC's time, the
        # TSIG check does not: BADTIME with the skew
        if shutil.which("faketime"):
            env = dict(empty, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0")
            out = run(["faketime", "-f", "+2h", program("kms-publish"),
                       "publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1],
                      env=env, timeout=60)
            check(out.returncode == 1 and "(TSIG BADTIME): clocks differ by 7200 s (server "
                  "behind)" in one_line(out), "skewed clock: BADTIME with the skew", out)

        # the KDC down: the credentials cannot be had
        ns.kdc_stop()
        mark = len(ns.log())
        t0 = time.monotonic()
        out = kms_publish("publish", "--gss", "--keytab", ns.keytabs["kms1"], *A, *kms1,
                          env=ns.krb_env())
        took = time.monotonic() - t0
        check(out.returncode == 1 and one_line(out) == "kms-publish: getting Kerberos "
              "credentials: cannot reach a KDC (is it running? krb5.conf [realms] kdc = ...)",
              "KDC down line", out)
        check(ns.update_lines(mark) == [] and tkey_queries(ns, mark) == [], "KDC down: nothing sent")
        check(took < 20, "KDC down: bounded (%.1f s)" % took)
        ns.kdc_start()

        # 6. interop with nsupdate -g, both ways, same principal
        r = ns.nsupdate_gss("update add %s 900 IN SRV 5 5 1688 kms1.kms.test." % OWNER, env1)
        check(r.returncode == 0, "nsupdate -g adds kms1's record", r)
        out = kms_publish("publish", "--gss", *A, *kms1, env=env1)
        recs = [x for x in ns.srv(OWNER) if x[3] == "kms1.kms.test."]
        check(out.returncode == 0 and recs == [(0, 0, 1688, "kms1.kms.test.", 3600)],
              "kms-publish replaces nsupdate's record", (out, recs))
        r = ns.nsupdate_gss("update delete %s IN SRV 0 0 1688 kms1.kms.test." % OWNER, env1)
        check(r.returncode == 0 and all(x[3] != "kms1.kms.test." for x in ns.srv(OWNER)),
              "nsupdate -g removes kms-publish's record", r)
    print("ok")


if __name__ == "__main__":
    main()
