"""kms-publish's command line as a user meets it: a bad option gives exactly
one line on stderr naming that option (getopt's own message is off), exit 2.
"""
from dnstest import check, kms_publish


def stderr_lines(out):
    return [l for l in out.stderr.split("\n") if l]


def bad_options():
    for argv, want in (
            (["--bogus"], "kms-publish: unknown option '--bogus' (see --help)"),
            (["publish", "--bogus=secret", "--domain", "kms.test"],
             "kms-publish: unknown option '--bogus' (see --help)"),
            (["-x", "publish"], "kms-publish: unknown option '-x' (see --help)"),
            (["show", "--domain"], "kms-publish: option '--domain' needs a value (see --help)"),
            (["show", "--json=yes"], "kms-publish: option '--json' takes no value (see --help)"),
            (["show", "--ver"], "kms-publish: ambiguous option '--ver' (see --help)")):
        out = kms_publish(*argv)
        check(out.returncode == 2, "%r: usage exit" % argv, out)
        check(stderr_lines(out) == [want], "%r: one line naming the option: %r" % (argv, want),
              out)
        check(out.stdout == "", "%r: nothing on stdout" % argv, out)


def main():
    bad_options()
    print("ok")


if __name__ == "__main__":
    main()
