# SPDX-License-Identifier: MIT
"""kms-publish's command line as a user meets it: a bad option gives exactly
one line on stderr naming that option (getopt's own message is off), exit 2;
many domains failing give one line per domain on stdout and ONE summary line
on stderr (was: one stderr line per domain).
"""
import json
import socket

from harness import check, free_port, kms_publish, program, run, skip_part


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
            (["show", "--ver"], "kms-publish: ambiguous option '--ver' (see --help)"),
            (["publish", "--domain", "kms.test", "--target", "kms1..kms.test",
              "--allow-unsigned"],
             "kms-publish: --target 'kms1..kms.test' is not a valid host name: empty label (two "
             "dots in a row, or a leading dot)")):
        out = kms_publish(*argv)
        check(out.returncode == 2, "%r: usage exit" % argv, out)
        check(stderr_lines(out) == [want], "%r: one line naming the option: %r" % (argv, want),
              out)
        check(out.stdout == "", "%r: nothing on stdout" % argv, out)


def closed_udp_port():
    return free_port(kind=socket.SOCK_DGRAM)


def many_domains_down():
    doms = ["d%02d.kms.test" % i for i in range(1, 21)]
    server = "127.0.0.1:%d" % closed_udp_port()
    for args in ([], ["--json"]):
        out = kms_publish("publish", "--server", server, "--allow-unsigned", "--attempts", 1,
                          "--target", "kms1.kms.test", "--domain", ", ".join(doms), *args,
                          timeout=30)
        check(out.returncode == 1, "failure exit", out)
        lines = stderr_lines(out)
        check(len(lines) == 1, "one stderr line for 20 failed domains, got %d" % len(lines), out)
        check(lines[0].startswith("kms-publish: 20 of 20 domains failed, all for the same cause: "
                                  "zone of _vlmcs._tcp.d01.kms.test. not found: no answer from "
                                  "%s" % server.replace(":", "#")), "summary line", out)
        check("connection refused" in lines[0], "names the cause", out)
        if not args:
            res = out.stdout.split("\n")[:-1]
            check([l.split(":")[0] for l in res] == doms, "one stdout line per domain", out)
            check(all(": error: zone of _vlmcs._tcp." in l for l in res), "each an error", out)

    # a single domain: its failure itself, as before
    out = kms_publish("publish", "--server", server, "--allow-unsigned", "--attempts", 1,
                      "--target", "kms1.kms.test", "--domain", "kms.test")
    check(out.returncode == 1 and len(stderr_lines(out)) == 1, "single domain", out)
    check(stderr_lines(out)[0].startswith("kms-publish: zone of _vlmcs._tcp.kms.test. not found"),
          "single domain: the failure itself", out)


def default_target_is_this_hosts_fqdn():
    """No --target: the host's FQDN, as kmsd's default.  A host name is set
    in a private UTS namespace (root, unshare); said loudly and skipped where
    there is none."""
    server = "127.0.0.1:%d" % closed_udp_port()
    script = 'hostname "$1" && shift && exec "$@"'
    base = [program("kms-publish"), "publish", "--server", server, "--allow-unsigned",
            "--attempts", "1", "--domain", "kms.test", "--json"]
    out = run(["unshare", "-u", "sh", "-c", script, "sh", "kms7.corp.test"] + base, timeout=30)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        skip_part("default_target_is_this_hosts_fqdn",
                  "no private namespaces here (%s)" % out.stderr.strip())
        return
    check(json.loads(out.stdout)["results"][0]["target"] == "kms7.corp.test", "FQDN target", out)
    # a short name with no domain anywhere: one clear line, nothing sent
    out = run(["unshare", "-u", "sh", "-c", script, "sh", "nodomainhost"] + base, timeout=30)
    check(out.returncode != 0 and stderr_lines(out) == [
        "kms-publish: no --target, and this host's name 'nodomainhost' has no domain to make "
        "an FQDN of (give --target FQDN)"], "short host name", out)


def main():
    bad_options()
    many_domains_down()
    default_target_is_this_hosts_fqdn()
    print("ok")


if __name__ == "__main__":
    main()
