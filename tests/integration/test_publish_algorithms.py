# SPDX-License-Identifier: MIT
"""Every TSIG algorithm kms-publish accepts works end to end with named 9.18
(request signed, answer verified), over IPv6 too."""
from harness import Named, check, kms_publish


def main():
    for alg in ("hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5", "hmac-sha224", "hmac-sha384"):
        with Named(v6=True, key_algorithm=alg) as ns:
            with open(ns.key_file) as f:
                check("algorithm %s;" % alg in f.read(), "key file uses " + alg)
            out = kms_publish("publish", "--server", "[::1]:%d" % ns.port, "--key", ns.key_file,
                              "--domain", "kms.test 1 2", "--target", "kms1.kms.test")
            check(out.returncode == 0 and "server ::1#%d" % ns.port in out.stdout,
                  "publish with " + alg, out)
            check(ns.srv("_vlmcs._tcp.kms.test") == [(1, 2, 1688, "kms1.kms.test.", 3600)], alg)
            out = kms_publish("unpublish", "--server", "[::1]:%d" % ns.port, "--key",
                              ns.key_file, "--domain", "kms.test", "--target", "kms1.kms.test")
            check(out.returncode == 0 and ns.srv("_vlmcs._tcp.kms.test") == [], alg, out)
    print("ok")


if __name__ == "__main__":
    main()
