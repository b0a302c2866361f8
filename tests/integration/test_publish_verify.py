# SPDX-License-Identifier: MIT
"""kms-publish --verify finds the addresses of every name server of the zone
the way discovery finds names: glue first (A and AAAA), else the resolver
with recursion desired (A and AAAA), and asks each server over IPv4 or IPv6.

- remote.test: its second NS, ns2.far.test, lies in a zone the primary
  (127.0.0.1) refuses to answer for and comes without glue; a resolver
  (the same named on ::1, serving far.test there) finds its address.
  Before: asked at the primary, REFUSED, "(no address)", every --verify
  failed at its bound.
- v6ns.test: its second NS has only an AAAA record (glue ::1).  Before:
  only IPv4 glue was kept, "(no address)" again.
"""
from harness import Named, check, have_ipv6, kms_publish, skip


def main():
    if not have_ipv6():
        skip("no IPv6 loopback (::1)")
    with Named(remote_ns=True) as ns:
        v6 = "[::1]:%d" % ns.port
        K = ["--key", ns.key_file, "--verify", "--verify-timeout", 5]

        # the setup itself: no glue, refused at the primary, known at ::1
        check(ns.dig("ns2.far.test", "A") == [], "far.test must not answer at 127.0.0.1")
        check(ns.dig("ns2.far.test", "A", server="::1") != [], "far.test answers at ::1")

        # 1. an NS outside every zone of the primary: found at the resolver
        #    (discovery without --server; the resolver is ::1)
        for op in ("publish", "unpublish"):
            out = kms_publish(op, "--resolver", v6, "--domain", "remote.test",
                              "--target", "kms.remote.test", *K)
            check(out.returncode == 0 and out.stderr == "", op + " remote.test --verify", out)
            check("zone remote.test., server 127.0.0.1#%d" % ns.port in out.stdout,
                  "primary found over the v6 resolver", out)
            check("verified on 2 name servers" in out.stdout, op + " verified on both", out)

        # 2. updates to --server, name server addresses from --resolver
        out = kms_publish("publish", "--server", ns.server, "--resolver", v6,
                          "--domain", "remote.test", "--target", "kms.remote.test", *K)
        check(out.returncode == 0 and "verified on 2 name servers" in out.stdout,
              "--server for updates, --resolver for NS addresses", out)

        # 3. an NS with an IPv6 address only: asked over IPv6
        mark = ns.log_mark()
        out = kms_publish("publish", "--server", ns.server, "--domain", "v6ns.test",
                          "--target", "kms.v6ns.test", *K)
        check(out.returncode == 0 and "verified on 2 name servers" in out.stdout,
              "v6ns.test --verify", out)
        v6q = [l for l in ns.query_lines(mark)
               if " ::1#" in l and "_vlmcs._tcp.v6ns.test IN SRV" in l]
        check(v6q != [], "the AAAA-only name server was asked over IPv6: %r"
              % ns.query_lines(mark), out)
        out = kms_publish("unpublish", "--server", ns.server, "--domain", "v6ns.test",
                          "--target", "kms.v6ns.test", *K)
        check(out.returncode == 0 and "verified on 2 name servers" in out.stdout,
              "v6ns.test unpublish --verify", out)
        check(ns.srv("_vlmcs._tcp.v6ns.test") == [], "removed")
    print("ok")


if __name__ == "__main__":
    main()
