# SPDX-License-Identifier: MIT
"""kms-locate against a real named: priorities and weights, domain order
(primary DNS suffix, resolv.conf search list, lookup domain, explicit
domains, manual host), every DNS failure mapped to its Windows outcome and
exit code, and the ADDITIONAL section used instead of extra A queries."""

import json
import os
import re
import shutil
import socket
import tempfile
import time

from harness import (SRC, FakeDNS, Named, check, free_port, locate, program, publish, run,
                     skip_part, srv_update, wait_until)

Z = "_vlmcs._tcp.kms.test."
C = "_vlmcs._tcp.corp.test."


def test_order(ns):
    srv_update(ns, ["update delete %s SRV" % Z])  # a clean RRset (nsupdate: wipe)
    for target, weight in (("kms1.kms.test", 10), ("kms2.kms.test", 30), ("kms3.kms.test", 60)):
        publish(ns, target, 1688, 0, weight)
    # kms-publish keeps one record per host and domain: the extra records of
    # the same targets (other ports, other priorities) go in with nsupdate
    srv_update(ns, ["update add %s 60 IN SRV 0 0 1689 kms1.kms.test." % Z,
                    "update add %s 60 IN SRV 10 50 1690 kms2.kms.test." % Z,
                    "update add %s 60 IN SRV 5 0 1691 kms3.kms.test." % Z])
    first = {}
    for seed in range(1, 81):
        code, r, err = locate(ns, "--domain", "kms.test", "--no-cache", "--seed", str(seed))
        check(code == 0, "exit %d: %s" % (code, err))
        hosts = r["hosts"]
        check(len(hosts) == 6, "6 hosts expected: %r" % hosts)
        prios = [h["priority"] for h in hosts]
        check(prios == sorted(prios), "priority order violated: %r" % prios)
        check(prios == [0, 0, 0, 0, 5, 10], prios)
        # glue from the ADDITIONAL section: one SRV query, nothing else
        check(r["queries"] == 1, "expected 1 query, got %d" % r["queries"])
        for h in hosts:
            check(h["addresses_from"] == "additional", h)
            check(h["addresses"], h)
        key = "%s:%d" % (hosts[0]["target"], hosts[0]["port"])
        first[key] = first.get(key, 0) + 1
    # weights 60 > 30 > 10 > 0 for the first pick (80 draws: loose bounds)
    w60, w30, w10 = first.get("kms3.kms.test:1688", 0), first.get("kms2.kms.test:1688", 0), \
        first.get("kms1.kms.test:1688", 0)
    check(w60 > w10 and w60 > 25 and w30 > 8, "weighted first picks off: %r" % first)
    # the same seed gives the same order
    a = locate(ns, "--domain", "kms.test", "--no-cache", "--seed", "7")[1]["hosts"]
    b = locate(ns, "--domain", "kms.test", "--no-cache", "--seed", "7")[1]["hosts"]
    check(a == b, "seeded order differs")
    # --explain words
    code, text, _ = locate(ns, "--domain", "kms.test", "--no-cache", "--seed", "3", "--explain",
                           json_out=False)
    check(code == 0 and "weighted pick 1 of 4" in text and "after every record of priority 0"
          in text, text)


def test_domains(ns):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        # resolv.conf has no port syntax: the server comes from --server
        f.write("nameserver 127.0.0.1\nsearch missing.kms.test kms.test\noptions ndots:3\n")
        rc_path = f.name
    try:
        code, r, err = locate(ns, "--resolv-conf", rc_path, "--hostname", "pc.nope.kms.test",
                              "--no-cache")
        check(code == 0, "exit %d %s" % (code, err))
        names = [(d["name"], d["query"], d["source"], d["outcome"]) for d in r["domains"]]
        check(names == [
            ("nope.kms.test", "_vlmcs._tcp.nope.kms.test.", "primary DNS suffix", "0x8007232B"),
            ("missing.kms.test", "_vlmcs._tcp.missing.kms.test.", "search list", "0x8007232B"),
            ("kms.test", "_vlmcs._tcp.kms.test.", "search list", "0x00000000"),
        ], names)
        check(r["queries"] == 3, r["queries"])
        # a primary suffix equal to a search domain is listed once (case and
        # final dot ignored); a domain after the one with records is not queried
        code, r, _ = locate(ns, "--resolv-conf", rc_path, "--hostname", "pc.KMS.test.",
                            "--no-cache")
        check([d["name"] for d in r["domains"]] == ["KMS.test", "missing.kms.test"], r["domains"])
        check(r["domains"][1]["outcome"] is None, r["domains"])
        check(code == 0 and r["queries"] == 1, r)
        # /skms-domain: only that domain, the search list is ignored
        code, r, _ = locate(ns, "--resolv-conf", rc_path, "--lookup-domain", "missing.kms.test",
                            "--no-cache")
        check(code == 10 and [d["name"] for d in r["domains"]] == ["missing.kms.test"], r)
        # /skms: no DNS at all for a numeric host
        code, r, _ = locate(ns, "--resolv-conf", rc_path, "--kms", "127.0.0.5:1700", "--no-cache")
        check(code == 0 and r["domains"] == [] and r["queries"] == 0, r)
        check(r["hosts"][0]["source"] == "manual" and r["hosts"][0]["port"] == 1700, r)
        # /skms with a name: resolved (A and AAAA), still no SRV query
        code, r, _ = locate(ns, "--kms", "kms1.kms.test", "--no-cache")
        check(code == 0 and r["queries"] == 2 and r["hosts"][0]["port"] == 1688, r)
        check(r["hosts"][0]["addresses"] == ["127.0.0.11", "::1"], r)
    finally:
        os.unlink(rc_path)


def test_short_hostname_suffix(ns):
    """A Debian host: short hostname "kms1", its FQDN in /etc/hosts.  The
    primary DNS suffix is the domain of that FQDN.  Needs a private UTS and
    mount namespace (root, unshare) for the host name and /etc/hosts; said
    loudly and skipped where there is none."""
    tmp = tempfile.mkdtemp(prefix="kms-locate-hosts.")
    try:
        hosts, rc_path = os.path.join(tmp, "hosts"), os.path.join(tmp, "resolv.conf")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.1.1 kms1.kms.test kms1\n")
        with open(rc_path, "w") as f:
            f.write("nameserver 127.0.0.1\n")
        script = ('hostname kms1 && mount --bind "$1" /etc/hosts && exec "$2" --server "$3" '
                  '--resolv-conf "$4" --no-cache --json')
        out = run(["unshare", "-u", "-m", "sh", "-c", script, "sh", hosts,
                   program("kms-locate"), ns.server, rc_path], timeout=30)
        if out.returncode != 0 and not out.stdout.strip():
            skip_part("test_short_hostname_suffix",
                      "no private namespaces here (%s)" % out.stderr.strip())
            return
        r = json.loads(out.stdout)
        check([(d["name"], d["source"]) for d in r["domains"]] ==
              [("kms.test", "primary DNS suffix")], r)
        check(out.returncode == 0 and r["hosts"], (out.returncode, r))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_failures(ns):
    # NXDOMAIN
    code, r, _ = locate(ns, "--domain", "missing.kms.test", "--no-cache")
    check(code == 10 and r["outcome"] == "0x8007232B", (code, r))
    # the last failure decides when no domain has records
    code, r, _ = locate(ns, "--domain", "missing.kms.test", "--domain", "elsewhere.example",
                        "--no-cache")
    check(r["domains"][1]["outcome"] == "0x8007232D", r)  # named is not authoritative: REFUSED
    check(code == 13 and r["outcome"] == "0x8007232D", (code, r))
    # NODATA: the name exists (records below it) but has no SRV; and below,
    # the "." target: records kms-publish does not write, so nsupdate
    srv_update(ns, ["update delete %s SRV" % C,
                    "update add sub.%s 60 IN SRV 0 0 1688 winkms.corp.test." % C])
    code, r, _ = locate(ns, "--domain", "corp.test", "--no-cache")
    check(code == 11 and r["outcome"] == "0x8007251D", (code, r))
    # the single target ".": service decidedly not available
    srv_update(ns, ["update add %s 60 IN SRV 0 0 0 ." % C])
    code, r, _ = locate(ns, "--domain", "corp.test", "--no-cache")
    check(code == 11 and r["outcome"] == "0x8007251D" and "not available" in
          r["domains"][0]["result"], (code, r))
    check(r["hosts"] == [], r)
    # a later domain with records wins over earlier failures
    code, r, _ = locate(ns, "--domain", "corp.test", "--domain", "kms.test", "--no-cache")
    check(code == 0 and r["outcome"] == "0x00000000" and len(r["hosts"]) == 6, (code, r))
    # SERVFAIL (a server that fails every query)
    with FakeDNS(2) as fake:
        code, r, _ = locate(fake.server, "--domain", "kms.test", "--no-cache", "--timeout", "1")
        check(code == 12 and r["outcome"] == "0x8007232A", (code, r))
        check(fake.queries >= 1, "fake server saw no query")
        # a second server: asked after the SERVFAIL, as a client does
        code, r, _ = locate(fake.server, "--server", ns.server, "--domain", "kms.test",
                            "--no-cache", "--timeout", "1")
        check(code == 0 and r["outcome"] == "0x00000000" and len(r["hosts"]) == 6, (code, r))
    # a first server that never answers: the second one is asked
    with FakeDNS(None) as fake:
        code, r, _ = locate(fake.server, "--server", ns.server, "--domain", "kms.test",
                            "--no-cache", "--timeout", "1")
        check(code == 0 and r["outcome"] == "0x00000000" and fake.queries == 1, (code, r))
    # timeout: a server that never answers; one round over the servers, so it
    # is asked once and the run waits one --timeout, not two (docs/kms-locate.1)
    with FakeDNS(None) as fake:
        t0 = time.monotonic()
        code, r, _ = locate(fake.server, "--domain", "kms.test", "--no-cache", "--timeout", "1")
        took = time.monotonic() - t0
        check(code == 14 and r["outcome"] == "0x800705B4", (code, r))
        check(fake.queries == 1 and 0.9 < took < 1.9, (fake.queries, took))
    # server port closed (ICMP port unreachable on loopback)
    code, r, _ = locate("127.0.0.1:%d" % free_port(kind=socket.SOCK_DGRAM), "--domain",
                        "kms.test", "--no-cache", "--timeout", "1")
    check(code == 14 and r["outcome"] == "0x800705B4", (code, r))
    # usage errors are exit 2 with one line
    code, _, err = locate(ns, "--server", "not-an-ip", "--domain", "kms.test", "--no-cache")
    check(code == 2 and err.count("\n") == 1 and "not-an-ip" in err, (code, err))


def test_glue(ns):
    """SRV targets in the answering zone come with glue: no A query; a target
    outside it is resolved with A and AAAA queries (named's query log agrees)."""
    srv_update(ns, ["update delete %s SRV" % C, "update delete sub.%s SRV" % C])
    publish(ns, "winkms.corp.test")
    mark = ns.log_mark()
    code, r, _ = locate(ns, "--domain", "kms.test", "--no-cache")
    check(code == 0 and r["queries"] == 3, r)  # SRV + A + AAAA for winkms only
    win = [h for h in r["hosts"] if h["target"] == "winkms.corp.test"][0]
    check(win["addresses_from"] == "resolved" and win["addresses"] == ["127.0.0.21"], win)
    lines = ns.query_lines(mark)
    a_queries = [l for l in lines if " IN A " in l or " IN AAAA " in l]
    check(len(a_queries) == 2 and all("winkms.corp.test" in l for l in a_queries), lines)
    check(any("_vlmcs._tcp.kms.test IN SRV" in l for l in lines), lines)
    # absolute names only: never a query for the bare "_vlmcs._tcp" (root first)
    check(not any(" _vlmcs._tcp IN " in l for l in lines), lines)


def test_cname(ns):
    """A CNAME at _vlmcs._tcp.<domain> is followed as a client's resolver
    follows it: through the answer's chain, and with a new query when the
    answer stops at a name it holds no records for; --explain and the JSON
    show the chain; a server's verdict on the target is the outcome."""
    srv_update(ns, ["update delete %s SRV" % Z])  # one zone per UPDATE
    srv_update(ns, ["update delete %s SRV" % C])
    publish(ns, "kms1.kms.test", 1688, 0, 0)
    publish(ns, "kms2.kms.test", 1700, 0, 0, domain="corp.test")
    # within the zone: named answers with the chain and the records, one query
    code, r, err = locate(ns, "--lookup-domain", "inzone.kms.test", "--no-cache")
    d = r["domains"][0]
    check(code == 0 and r["queries"] == 1 and d["cname_chain"] == [Z], (r, err))
    check([(h["target"], h["port"]) for h in r["hosts"]] == [("kms1.kms.test", 1688)], r)
    # into another zone: named answers with the CNAME only, so it is asked again
    for dom, chain in (("alias.kms.test", [C]),
                       ("alias2.kms.test", ["_vlmcs._tcp.alias.kms.test.", C])):
        mark = ns.log_mark()
        code, r, err = locate(ns, "--lookup-domain", dom, "--no-cache")
        d = r["domains"][0]
        check(code == 0 and d["cname_chain"] == chain, (dom, r, err))
        check([(h["target"], h["port"]) for h in r["hosts"]] == [("kms2.kms.test", 1700)], r)
        srv = [l for l in ns.query_lines(mark) if " IN SRV " in l]
        check(len(srv) == 2 and "%s IN SRV" % C.rstrip(".") in srv[1],
              ("the alias, then its target", dom, srv))
    code, out, err = locate(ns, "--lookup-domain", "alias2.kms.test", "--no-cache", "--explain",
                            json_out=False)
    check(code == 0 and "1 SRV record at %s (CNAME _vlmcs._tcp.alias2.kms.test. -> "
          "_vlmcs._tcp.alias.kms.test. -> %s)" % (C, C) in out, out)
    # a target no server here answers for: the refusal of the second query
    code, r, err = locate(ns, "--lookup-domain", "bare.kms.test", "--no-cache")
    d = r["domains"][0]
    check(code == 13 and d["outcome"] == "0x8007232D" and
          d["cname_chain"] == ["_vlmcs._tcp.elsewhere.example."], (r, err))
    # a loop: named says SERVFAIL (kms-locate would stop at the first name met twice)
    code, r, err = locate(ns, "--lookup-domain", "loop1.kms.test", "--no-cache")
    check(code == 12, (r, err))


def test_invalid_names_refused_locally(ns):
    """A name no KMS client could query is refused with one line naming the
    option, the value and what is wrong; nothing reaches the DNS server."""
    cases = [("--lookup-domain", "kmś.test", "non-ASCII character (write an internationalized "
              "name in its xn-- form)"),
             ("--domain", "kms..test", "empty label (two dots in a row, or a leading dot)"),
             ("--domain", "kms test", "space in a name"),
             ("--lookup-domain", ".", "the root is not a domain to search"),
             ("--lookup-domain", "a" * 64 + ".test", "a label longer than 63 characters"),
             ("--hostname", "host.ex@mple.test",
              "a character other than letters, digits, '-' and '_'")]
    for opt, value, why in cases:
        mark = ns.log_mark()
        code, out, err = locate(ns, opt, value, "--no-cache", json_out=False)
        check(code == 2, (opt, value, code, err))
        check(err.strip().splitlines() == ["kms-locate: error: %s '%s' is not a valid domain "
                                           "name: %s" % (opt, value, why)], (opt, value, err))
        check(" query: " not in ns.log()[mark:], ("sent to DNS", opt, value))
    # a valid name still gets its query (the log check above can fail)
    mark = ns.log_mark()
    code, out, err = locate(ns, "--lookup-domain", "kms.test", "--no-cache", json_out=False)
    check(wait_until(lambda: " query: " in ns.log()[mark:], timeout=5), "querylog shows queries")


def test_help_lists_every_outcome():
    """--help and the man page list every outcome with its exit code (the
    codes come from the program itself: resolver/outcome.c)."""
    want = [("0x00000000", 0), ("0x8007232B", 10), ("0x8007251D", 11), ("0x8007232A", 12),
            ("0x8007232D", 13), ("0x800705B4", 14), ("0xC004F074", 15), ("0xC004F038", 16),
            ("0x800706BA", 17)]
    out = run([program("kms-locate"), "--help"])
    check(out.returncode == 0, out)
    with open(os.path.join(SRC, "docs", "kms-locate.1")) as f:
        man = f.read()
    for hr, code in want:
        check(re.search(r"^\s*%s\s+%d\s" % (hr, code), out.stdout, re.M), (hr, code, out.stdout))
        check(re.search(r"^%s\s+%d\s" % (hr, code), man, re.M), (hr, code, "man page"))
    for code, words in ((18, "other"), (1, "internal error"), (2, "usage error")):
        check(re.search(r"\b%d\s+.*%s" % (code, words), out.stdout), (code, out.stdout))
        check(re.search(r"\b%d\s+.*%s" % (code, words), man), (code, "man page"))


def main():
    test_help_lists_every_outcome()
    with Named() as ns:
        test_order(ns)
        test_domains(ns)
        test_short_hostname_suffix(ns)
        test_failures(ns)
        test_glue(ns)
        test_invalid_names_refused_locally(ns)
        test_cname(ns)
    print("ok")


if __name__ == "__main__":
    main()
