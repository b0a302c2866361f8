"""Every TSIG algorithm kms-publish accepts works end to end with named 9.18
(request signed, answer verified), over IPv6 too."""
import sys

from harness import Named, kms_publish


def main():
    for alg in ("hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"):
        with Named(v6=True, key_algorithm=alg) as ns:
            with open(ns.key_file) as f:
                assert "algorithm %s;" % alg in f.read(), "key file uses " + alg
            out = kms_publish("publish", "--server", "[::1]:%d" % ns.port, "--key", ns.key_file,
                              "--domain", "kms.test 1 2", "--target", "kms1.kms.test")
            if out.returncode != 0 or "server ::1#%d" % ns.port not in out.stdout:
                print(alg, out.stdout, out.stderr, file=sys.stderr)
                raise AssertionError("publish with " + alg)
            assert ns.srv("_vlmcs._tcp.kms.test") == [(1, 2, 1688, "kms1.kms.test.", 3600)], alg
            out = kms_publish("unpublish", "--server", "[::1]:%d" % ns.port, "--key",
                              ns.key_file, "--domain", "kms.test", "--target", "kms1.kms.test")
            assert out.returncode == 0 and ns.srv("_vlmcs._tcp.kms.test") == [], alg
    print("ok")


if __name__ == "__main__":
    main()
