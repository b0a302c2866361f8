# SPDX-License-Identifier: MIT
"""kms-publish, kms-locate and kmsd against two more real DNS servers, Knot
DNS 3.2 and PowerDNS Authoritative 4.7 (tests/integration/servers.py), in
the scenarios the BIND tests assert (test_publish_records.py,
test_publish_faults.py, test_kmsd_dns.py, test_locate_dns.py).

Covers, per server: one record with exact data; the same again sends no
UPDATE ("already published ...: nothing to change", JSON unchanged); a
second host at the same name, unpublished again, leaves the first (one RR
deleted, not the RRset); show; --verify (with --server, and through
discovery with --resolver); kmsd publishing at start, cdns removing and
sdns restoring; kms-locate finding the hosts in RFC 2782 order with glue
from the ADDITIONAL section; six refused updates (wrong secret, unknown key,
a known key granted nothing, a name outside the policy, unsigned, the
client's clock 400 s ahead); the glue a server leaves out when the SRV
answer outgrows 1232 bytes.

Where a server differs from BIND the test says which way:
- PowerDNS's TSIG-ALLOW-DNSUPDATE grants a key the whole zone (no name or
  type restriction): the name outside BIND's policy is accepted there.
- PowerDNS with a Lua update policy (the only way it restricts names and
  types) skips each denied record and answers NOERROR; the fault cases
  assert BIND's outcome (non-zero exit), which kms-publish does not give
  there today (PowerDNSLuaPolicy.test_refused_updates fails on purpose:
  it documents what the tool must handle).
- Knot cuts glue from a too-long answer without TC: some targets keep
  their A record and lose their AAAA; PowerDNS sets TC instead.

Each fault case prints one FAULT line with kms-publish's line and what the
server put on the wire (servers.raw_update: rcode, TSIG error, signed or
not); BindReference prints the same for named, for comparison.
"""
import json
import os
import shutil

import harness
import servers
from harness import kms_publish, locate, program, run

OWNER = "_vlmcs._tcp.kms.test"
SUB = "_vlmcs._tcp.sub.kms.test"
TARGET = "kms1.kms.test."


def one_line(out):
    lines = [l for l in out.stderr.split("\n") if l]
    return lines[0] if len(lines) == 1 else None


def faketime_env():
    env = dict(os.environ)
    # libfaketime is preloaded ahead of the sanitizer runtime
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    return env


UNSIGNED_REFUSED = ("REFUSED, answer unsigned and no TSIG error given: the server did not take "
                    "key \"kms-publisher\" (unknown to it, another secret, or clocks more than 5 "
                    "minutes apart), or its policy refuses this change")


class ServerCase(harness.KmsdTestCase):
    """One server (SERVER(**KW)) per test, stopped after the test's kmsd."""

    SERVER = None
    KW = {}
    # PowerDNS's TSIG-ALLOW-DNSUPDATE: the key may change anything in the zone
    GRANTS_WHOLE_ZONE = False
    # what kms-publish's one stderr line must say, per fault case (roman
    # numeral of the label): what the server's answer makes known
    EXPECT = {}

    def start_server(self, **kw):
        if not self.SERVER.available():
            self.skipTest("%s not installed (scripts/install-deps)" % self.SERVER.__name__)
        ns = self.SERVER(**dict(self.KW, **kw))
        try:
            ns.__enter__()
        except RuntimeError as e:
            # installed but not startable here: skipped, loudly, never passed
            ns.__exit__(None, None, None)
            self.skipTest("%s could not be started here: %s" % (self.SERVER.__name__, e))
        except BaseException:
            ns.__exit__(None, None, None)
            raise
        self.addCleanup(ns.__exit__, None, None, None)
        return ns

    def publish(self, ns, target, *args, verb="publish", key=None, domain="kms.test"):
        return kms_publish(verb, "--server", ns.server, "--key", key or ns.key_file,
                           "--domain", domain, "--target", target, *args)

    # ---- the fault cases (test_publish_faults.py with BIND) ---------------
    def fault_cases(self, ns):
        tmp = os.path.join(self.tmp, "keys")
        os.makedirs(tmp, exist_ok=True)
        wrong = harness.make_key(os.path.join(tmp, "wrong.key"), "kms-publisher.")
        unknown = harness.make_key(os.path.join(tmp, "unknown.key"), "nobody-knows-me.")
        # (label, kms-publish key options, domain, owner, clock offset)
        return [("i wrong secret", ["--key", wrong], "kms.test", OWNER, 0),
                ("ii unknown key", ["--key", unknown], "kms.test", OWNER, 0),
                ("iii key granted nothing", ["--key", ns.other_key_file], "kms.test", OWNER, 0),
                ("iv name outside the policy", ["--key", ns.key_file], "sub.kms.test", SUB, 0),
                ("v unsigned", ["--allow-unsigned"], "kms.test", OWNER, 0),
                ("vi clock 400 s ahead", ["--key", ns.key_file], "kms.test", OWNER, 400)]

    def before_case(self, ns):
        """Called before each fault case (PowerDNSLuaPolicy evens out the
        TSIG key name PowerDNS remembers from the message before)."""

    def run_fault_cases(self, ns, name):
        """Each refused update: non-zero exit, exactly one stderr line, the
        record sets unchanged (BIND's outcome).  Prints a FAULT line per
        case (kms-publish's exit and lines), then, once every case is
        done, a WIRE line per case: what the server answers the same
        UPDATE sent by servers.raw_update (which may change the zone where
        the server accepts it, hence last)."""
        out = self.publish(ns, "kms1.kms.test", "--port", 1689, "--priority", 3, "--weight", 7,
                           "--ttl", 1234)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        before = (ns.srv(OWNER), ns.srv(SUB))
        self.assertEqual(before, ([(3, 7, 1689, TARGET, 1234)], []))
        cases = self.fault_cases(ns)
        for label, keyopt, domain, owner, skew in cases:
            with self.subTest(case=label):
                argv = [program("kms-publish"), "publish", "--server", ns.server, *keyopt,
                        "--domain", domain, "--target", "kms2.kms.test", "--attempts", 4]
                env = None
                if skew:
                    if not shutil.which("faketime"):
                        self.skipTest("faketime not installed (scripts/install-deps)")
                    argv = ["faketime", "-f", "+%ds" % skew] + argv
                    env = faketime_env()
                self.before_case(ns)
                res = run([str(a) for a in argv], timeout=60, env=env)
                after = (ns.srv(OWNER), ns.srv(SUB))
                print("FAULT %s | %s | exit %d | stderr %r | stdout %r"
                      % (name, label, res.returncode, res.stderr.strip(), res.stdout.strip()),
                      flush=True)
                if self.GRANTS_WHOLE_ZONE and label.startswith("iv "):
                    # not a tool failure: this server's policy grants the name
                    self.assertEqual(res.returncode, 0, res.stderr)
                    self.assertEqual(after, (before[0], [(0, 0, 1688, "kms2.kms.test.", 3600)]))
                    out = kms_publish("unpublish", "--server", ns.server, "--key", ns.key_file,
                                      "--domain", domain, "--target", "kms2.kms.test")
                    self.assertEqual(out.returncode, 0, out.stderr)
                    self.assertEqual(ns.srv(SUB), [])
                    continue
                self.assertEqual(after, before, "%s: the record sets changed" % label)
                self.assertNotEqual(res.returncode, 0, "%s: exit 0, although nothing changed: "
                                    "%r" % (label, res.stdout))
                self.assertIsNotNone(one_line(res), "%s: not one stderr line: %r"
                                     % (label, res.stderr))
                want = self.EXPECT.get(label.split()[0])
                if want:
                    self.assertIn(want, res.stderr, label)
        for label, keyopt, domain, owner, skew in cases:
            key = None if "--allow-unsigned" in keyopt else keyopt[1]
            self.before_case(ns)
            wire = servers.raw_update(ns.port, "kms.test", owner, "kms9.kms.test",
                                      key_file=key, clock_offset=skew)
            print("WIRE %s | %s | rcode %s | TSIG error %s | TSIG RR %s | signed %s"
                  % (name, label, wire["rcode"], wire["tsig_error"], wire["tsig_present"],
                     wire["signed"]), flush=True)


class Scenarios:
    """The scenarios every server runs (mixed into ServerCase subclasses)."""

    def test_publish_unchanged_second_host_show(self):
        ns = self.start_server()
        S = ["--server", ns.server, "--key", ns.key_file]
        args = ["--domain", "kms.test", "--target", "kms1.kms.test", "--port", 1689,
                "--priority", 3, "--weight", 7, "--ttl", 1234]
        # (a) one record, exact data
        out = kms_publish("publish", *S, *args)
        self.assertEqual((out.returncode, out.stderr), (0, ""), out.stdout)
        self.assertTrue(out.stdout.startswith(
            "kms.test: ok: published _vlmcs._tcp.kms.test. 1234 IN SRV 3 7 1689 kms1.kms.test. "
            "(zone kms.test., server 127.0.0.1#%d)" % ns.port), out.stdout)
        self.assertEqual(ns.srv(OWNER), [(3, 7, 1689, TARGET, 1234)])
        # (b) the same again: nothing to change, no UPDATE at all
        updates = ns.update_count()
        out = kms_publish("publish", *S, *args)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "kms.test: ok: already published _vlmcs._tcp.kms.test. 1234 "
                         "IN SRV 3 7 1689 kms1.kms.test. (zone kms.test., server 127.0.0.1#%d): "
                         "nothing to change\n" % ns.port)
        out = kms_publish("publish", *S, *args, "--json")
        j = json.loads(out.stdout)
        self.assertTrue(j["ok"] and j["results"][0]["unchanged"], out.stdout)
        self.assertFalse(j["results"][0]["replaced"], out.stdout)
        self.assertEqual(j["stats"]["updates"], 0, out.stdout)
        self.assertEqual(ns.update_count(), updates, "the server saw an UPDATE:\n" +
                         ns.output_tail())
        # (c) a second host at the same name; unpublishing it leaves ours
        out = kms_publish("publish", *S, "--domain", "kms.test", "--target", "kms2.kms.test",
                          "--ttl", 1234, "--weight", 1)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(ns.srv(OWNER), [(0, 1, 1688, "kms2.kms.test.", 1234),
                                         (3, 7, 1689, TARGET, 1234)])
        out = kms_publish("unpublish", *S, "--domain", "kms.test", "--target", "kms2.kms.test")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("removed 1 record", out.stdout)
        # exactly our RR deleted (class NONE), not the RRset
        self.assertEqual(ns.srv(OWNER), [(3, 7, 1689, TARGET, 1234)])
        out = kms_publish("unpublish", *S, "--domain", "kms.test", "--target", "kms2.kms.test")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("not published", out.stdout)
        # (d) show lists what the server serves
        out = kms_publish("show", "--server", ns.server, "--domain", "kms.test")
        self.assertEqual(out.returncode, 0, out.stderr)
        want = "".join("kms.test: %s. %d IN SRV %d %d %d %s\n" % (OWNER, r[4], r[0], r[1], r[2],
                                                                   r[3]) for r in ns.srv(OWNER))
        self.assertEqual(out.stdout, want)

    def test_verify_with_server_and_through_discovery(self):
        # (e) the zones' one NS is ns1.kms.test (glue 127.0.0.1), asked on
        # the port of --server (or of --resolver for a discovered primary)
        ns = self.start_server()
        for verb, done in (("publish", "ok: published"), ("unpublish", "ok: removed")):
            out = kms_publish(verb, "--server", ns.server, "--key", ns.key_file, "--domain",
                              "kms.test", "--target", "kms2.kms.test", "--verify",
                              "--verify-timeout", 5)
            self.assertEqual((out.returncode, out.stderr), (0, ""), out.stdout)
            self.assertIn(done, out.stdout)
            self.assertIn("verified on 1 name server", out.stdout)
        self.assertEqual(ns.srv(OWNER), [])
        # no --server: SOA walk at the resolver, MNAME ns1.kms.test = 127.0.0.1
        out = kms_publish("publish", "--resolver", ns.server, "--key", ns.key_file,
                          "--domain", "corp.test", "--target", "winkms.corp.test", "--verify",
                          "--verify-timeout", 5)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("zone corp.test., server 127.0.0.1#%d" % ns.port, out.stdout)
        self.assertIn("verified on 1 name server", out.stdout)
        self.assertEqual(ns.srv("_vlmcs._tcp.corp.test"),
                         [(0, 0, 1688, "winkms.corp.test.", 3600)])

    def test_kmsd_publishes_cdns_removes_sdns_restores(self):
        # (f) test_kmsd_dns.py's dns_conf, pointed at this server
        ns = self.start_server()
        d = self.kmsd(extra={"dns": {"publish": "yes", "domains": "kms.test",
                                     "target": "kms1.kms.test", "ttl": "1234", "priority": "3",
                                     "weight": "7", "server": ns.server,
                                     "key_file": ns.key_file, "refresh": "1h"}}).start()
        want = [(3, 7, d.port, TARGET, 1234)]
        self.assertEqual(ns.wait_srv(OWNER, lambda r: r == want, timeout=10), want,
                         d.log_tail())
        r = d.ctl("cdns")
        self.assertTrue(r.stdout.startswith("publish no"), r.stdout)
        self.assertIn("dns kms.test ok", r.stdout)
        # the reply comes after the DNS work
        self.assertEqual(ns.srv(OWNER), [])
        r = d.ctl("sdns")
        self.assertIn("publish yes", r.stdout)
        self.assertIn("dns kms.test ok", r.stdout)
        self.assertEqual(ns.srv(OWNER), want)
        self.stop_clean(d)
        self.assertEqual(ns.srv(OWNER), want)  # SIGTERM leaves the record

    def test_locate_finds_the_hosts_in_rfc2782_order(self):
        # (g) priorities first, weights within a priority, glue used
        ns = self.start_server()
        for target, prio, weight, port in (("kms1.kms.test", 3, 7, 1689),
                                           ("kms2.kms.test", 0, 10, 1688),
                                           ("kms3.kms.test", 0, 30, 1688)):
            out = self.publish(ns, target, "--priority", prio, "--weight", weight, "--port", port,
                               "--ttl", 1234)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        addrs = {"kms1.kms.test": ["127.0.0.11", "::1"], "kms2.kms.test": ["127.0.0.12"],
                 "kms3.kms.test": ["127.0.0.13"]}
        first = {}
        for seed in range(1, 41):
            code, r, err = locate(ns.server, "--lookup-domain", "kms.test", "--no-cache",
                                  "--seed", str(seed))
            self.assertEqual(code, 0, err)
            hosts = [(h["target"], h["port"], h["priority"], h["weight"]) for h in r["hosts"]]
            self.assertEqual(sorted(hosts[:2]), [("kms2.kms.test", 1688, 0, 10),
                                                 ("kms3.kms.test", 1688, 0, 30)], r)
            self.assertEqual(hosts[2], ("kms1.kms.test", 1689, 3, 7), r)
            self.assertEqual(r["queries"], 1, r)  # the SRV query, glue for every target
            for h in r["hosts"]:
                self.assertEqual((h["addresses_from"], h["addresses"]),
                                 ("additional", addrs[h["target"]]), h)
            first[hosts[0][0]] = first.get(hosts[0][0], 0) + 1
        # weight 30 against 10: about three draws in four (fixed seeds)
        self.assertGreater(first.get("kms3.kms.test", 0), 22, first)
        self.assertGreater(first.get("kms2.kms.test", 0), 3, first)

    def test_refused_updates(self):
        ns = self.start_server()
        self.run_fault_cases(ns, self.SERVER.__name__)


def glue_map(answer):
    """{target: [types of its ADDITIONAL records]} for the SRV targets of a
    servers.query() answer, in answer order."""
    add = {}
    for name, rtype, _ttl, _text, _raw in answer["additional"]:
        add.setdefault(name, []).append(rtype)
    targets = [rec[3].split()[3] for rec in answer["answer"] if rec[1] == "SRV"]
    return {t: add.get(t, []) for t in targets}


def dig_additional(ns, bufsize=1232):
    """(flags line, {name: [types]}) of the ADDITIONAL section dig shows
    with +bufsize (UDP only: +ignore keeps a truncated answer)."""
    out = run(["dig", "-p", str(ns.port), "@127.0.0.1", "+bufsize=%d" % bufsize, "+ignore",
               "+time=2", "+tries=1", "+noall", "+comments", "+additional", OWNER, "SRV"],
              timeout=10).stdout
    add = {}
    for line in out.splitlines():
        f = line.split()
        if line and not line.startswith(";") and len(f) >= 5 and f[3] in ("A", "AAAA"):
            add.setdefault(f[0].lower(), []).append(f[3])
    flags = [l for l in out.splitlines() if l.startswith(";; flags:")]
    return (flags[0] if flags else ""), add


def add_hosts(ns, first, last):
    """SRV records at OWNER for h<first>..h<last>.kms.test, one UPDATE."""
    out = ns.nsupdate("\n".join("update add %s. 300 IN SRV 0 0 1688 h%02d.kms.test."
                                % (OWNER, i) for i in range(first, last + 1)))
    if out.returncode != 0:
        raise AssertionError("nsupdate: %s %s" % (out.stdout, out.stderr))


class KnotTest(Scenarios, ServerCase):
    EXPECT = {"i": "NOTAUTH (TSIG BADSIG): key \"kms-publisher\" does not match the server's",
              "ii": "NOTAUTH (TSIG BADKEY): the server does not know key \"nobody-knows-me\"",
              # Knot answers a key its ACL refuses as an unknown one
              "iii": "NOTAUTH (TSIG BADKEY): the server does not know key \"kms-other\", or "
                     "(Knot) its ACL does not let that key make this change",
              "iv": "NOTAUTH (TSIG BADKEY): the server does not know key \"kms-publisher\", "
                    "or (Knot) its ACL does not let that key make this change",
              "v": "NOTAUTH: the server takes no unsigned update for kms.test. (give a TSIG "
                   "key), or is not its primary",
              "vi": "NOTAUTH (TSIG BADTIME): clocks differ by 400 s (server behind)"}
    SERVER = servers.Knot

    def test_glue_cut_without_tc(self):
        """Knot fills ADDITIONAL only as far as 1232 bytes allow and sets no
        TC: with 17 SRV records (targets h01..h17, each with A and AAAA)
        h15 keeps its A and loses its AAAA, h16 and h17 get no glue at all.
        kms-locate looks up AAAA for h15 before probing it; from 37 records
        the answer itself does not fit: TC, and over TCP all glue is there."""
        ns = self.start_server(hosts=40)
        add_hosts(ns, 1, 16)
        a = servers.query(ns.port, OWNER, "SRV", 1232)
        g = glue_map(a)
        self.assertFalse(a["tc"])
        self.assertEqual(list(g.values()).count(["A", "AAAA"]), 15, g)  # no A-only yet
        self.assertEqual(g["h16.kms.test."], [], g)
        add_hosts(ns, 17, 17)
        a = servers.query(ns.port, OWNER, "SRV", 1232)
        g = glue_map(a)
        print("Knot, 17 SRV records, EDNS 1232: TC=%s, glue %r" % (a["tc"], g), flush=True)
        self.assertFalse(a["tc"])
        self.assertEqual(len(g), 17, g)
        want = {"h%02d.kms.test." % i: ["A", "AAAA"] for i in range(1, 15)}
        want.update({"h15.kms.test.": ["A"], "h16.kms.test.": [], "h17.kms.test.": []})
        self.assertEqual(g, want)
        flags, add = dig_additional(ns)
        self.assertNotIn(" tc", flags)
        self.assertEqual(add.get("h15.kms.test."), ["A"], add)
        self.assertEqual({k: v for k, v in want.items() if v}, add)
        # kms-locate: h15 from the additional section (its A only, as
        # served); h16 and h17 looked up (A and AAAA)
        code, r, err = locate(ns.server, "--lookup-domain", "kms.test", "--no-cache",
                              "--seed", "1")
        self.assertEqual(code, 0, err)
        hosts = {h["target"]: h for h in r["hosts"]}
        self.assertEqual(r["queries"], 5, r)
        self.assertEqual((hosts["h15.kms.test"]["addresses_from"],
                          hosts["h15.kms.test"]["addresses"]), ("additional", ["127.0.2.15"]))
        for t in ("h16.kms.test", "h17.kms.test"):
            self.assertEqual((hosts[t]["addresses_from"], hosts[t]["addresses"]),
                             ("resolved", ["127.0.2.%s" % t[1:3].lstrip("0"), "::1"]))
        # before a probe the missing family is looked up (nothing listens on
        # 127.0.2.N or ::1 port 1688: every probe is refused at once)
        code, r, err = locate(ns.server, "--lookup-domain", "kms.test", "--no-cache",
                              "--seed", "1", "--probe", "--timeout", "1")
        hosts = {h["target"]: h for h in r["hosts"]}
        self.assertEqual(code, 15, err)
        self.assertEqual(r["queries"], 6, r)  # SRV, AAAA h15, A+AAAA h16 and h17
        h15 = hosts["h15.kms.test"]
        self.assertEqual((h15["addresses_from"], h15.get("glue_completed"), h15["addresses"]),
                         ("additional", True, ["127.0.2.15", "::1"]), h15)
        self.assertEqual([t for t, h in hosts.items() if h.get("glue_completed")],
                         ["h15.kms.test"])
        # 40 records: the answer does not fit 1232 bytes, TC; kms-locate
        # asks again over TCP and has every target's glue
        add_hosts(ns, 18, 40)
        a = servers.query(ns.port, OWNER, "SRV", 1232)
        self.assertTrue(a["tc"])
        self.assertEqual(a["answer"], [])
        code, r, err = locate(ns.server, "--lookup-domain", "kms.test", "--no-cache")
        self.assertEqual((code, r["queries"], len(r["hosts"])), (0, 1, 40), err)
        self.assertTrue(all(h["addresses_from"] == "additional" and len(h["addresses"]) == 2
                            for h in r["hosts"]), r)


class PowerDNSTest(Scenarios, ServerCase):
    SERVER = servers.PowerDNS
    GRANTS_WHOLE_ZONE = True  # TSIG-ALLOW-DNSUPDATE: no name or type restriction
    # every TSIG failure is an unsigned REFUSED without a TSIG error
    EXPECT = {"i": UNSIGNED_REFUSED, "ii": UNSIGNED_REFUSED.replace("kms-publisher",
                                                                   "nobody-knows-me"),
              "iii": "REFUSED: key \"kms-other\" may not make this change (update-policy)",
              "v": "REFUSED: the server does not allow this update without a TSIG key",
              "vi": UNSIGNED_REFUSED}

    def test_glue_never_cut_tc_instead(self):
        """PowerDNS keeps the whole glue or sets TC: 15 SRV records (h01..h15,
        each with A and AAAA) fit 1232 bytes with all their glue; with 16
        the answer is TC and empty, and kms-locate gets everything over TCP."""
        ns = self.start_server(hosts=40)
        add_hosts(ns, 1, 15)
        a = servers.query(ns.port, OWNER, "SRV", 1232)
        g = glue_map(a)
        self.assertFalse(a["tc"])
        self.assertEqual(len(g), 15, g)
        self.assertTrue(all(sorted(v) == ["A", "AAAA"] for v in g.values()), g)
        for last in (16, 40):
            add_hosts(ns, 16 if last == 16 else 17, last)
            a = servers.query(ns.port, OWNER, "SRV", 1232)
            print("PowerDNS, %d SRV records, EDNS 1232: TC=%s, %d answers, %d additional"
                  % (last, a["tc"], len(a["answer"]), len(a["additional"])), flush=True)
            self.assertTrue(a["tc"])
            self.assertEqual(a["answer"], [])
            flags, _ = dig_additional(ns)
            self.assertIn(" tc", flags)
            code, r, err = locate(ns.server, "--lookup-domain", "kms.test", "--no-cache")
            self.assertEqual((code, r["queries"], len(r["hosts"])), (0, 1, last), err)
            self.assertTrue(all(h["addresses_from"] == "additional" and
                                sorted(h["addresses"]) == sorted(["127.0.2.%d" %
                                                                  int(h["target"][1:3]), "::1"])
                                for h in r["hosts"]), r)


class PowerDNSLuaPolicy(ServerCase):
    # the Lua policy answers NOERROR and drops the change: the read-back tells
    EXPECT = {"i": UNSIGNED_REFUSED, "ii": UNSIGNED_REFUSED.replace("kms-publisher",
                                                                   "nobody-knows-me"),
              "iii": "(NOERROR) but not applied: _vlmcs._tcp.kms.test. still lacks our record",
              "iv": "(NOERROR) but not applied: _vlmcs._tcp.sub.kms.test. still lacks our "
                    "record",
              "v": "(NOERROR) but not applied: _vlmcs._tcp.kms.test. still lacks our record",
              "vi": UNSIGNED_REFUSED}
    """PowerDNS with lua-dnsupdate-policy-script: kms-publisher. on SRV at or
    under _vlmcs._tcp.<zone> only - BIND's grant.  PowerDNS then answers
    NOERROR for an update whose records it all dropped; the fault cases
    assert BIND's outcome, so iii, iv and v fail here until kms-publish
    notices that nothing changed (reported; not an expected failure)."""

    SERVER = servers.PowerDNS
    KW = {"policy": "lua"}

    def test_publish_allowed_by_the_policy(self):
        ns = self.start_server()
        out = self.publish(ns, "kms1.kms.test", "--port", 1689, "--priority", 3, "--weight", 7,
                           "--ttl", 1234)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(ns.srv(OWNER), [(3, 7, 1689, TARGET, 1234)])
        out = self.publish(ns, "kms1.kms.test", "--port", 1689, verb="unpublish")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(ns.srv(OWNER), [])

    def before_case(self, ns):
        # PowerDNS 4.7 hands the Lua policy the TSIG key name of the last
        # signed message of its thread for an unsigned one (see the test
        # below): each case starts after a denied kms-other. UPDATE, so its
        # outcome does not depend on the case before
        wire = servers.raw_update(ns.port, "kms.test", "_vlmcs._tcp.reset.kms.test",
                                  "kms9.kms.test", key_file=ns.other_key_file)
        self.assertEqual(wire["rcode"], "NOERROR", wire)  # denied records: NOERROR

    def test_refused_updates(self):
        ns = self.start_server()
        self.run_fault_cases(ns, "PowerDNS(lua policy)")
        self.assertEqual(ns.srv("_vlmcs._tcp.reset.kms.test"), [])

    def test_powerdns_bug_unsigned_update_passes_as_the_key_of_the_message_before(self):
        """A PowerDNS 4.7 bug, not the tool's: getTsigName() of an unsigned
        UPDATE is the key of the last signed message the thread handled
        (one distributor thread here), so an unsigned UPDATE right after
        kms-publisher.'s is applied; after kms-other.'s it is denied.  This
        asserts the server as it is (Debian 12, 4.7.3)."""
        ns = self.start_server()
        O = OWNER
        self.assertEqual(servers.raw_update(ns.port, "kms.test", O, "u1.kms.test")["rcode"],
                         "NOERROR")
        self.assertEqual(ns.srv(O), [])  # the first unsigned one: denied (NOERROR)
        self.assertEqual(servers.raw_update(ns.port, "kms.test", O, "s1.kms.test",
                                            key_file=ns.key_file)["rcode"], "NOERROR")
        self.assertEqual(servers.raw_update(ns.port, "kms.test", O, "u2.kms.test")["rcode"],
                         "NOERROR")
        self.assertEqual([r[3] for r in ns.srv(O)], ["s1.kms.test.", "u2.kms.test."],
                         "unsigned UPDATE after kms-publisher.'s applied (PowerDNS bug)")
        servers.raw_update(ns.port, "kms.test", O, "o1.kms.test", key_file=ns.other_key_file)
        servers.raw_update(ns.port, "kms.test", O, "u3.kms.test")
        self.assertEqual([r[3] for r in ns.srv(O)], ["s1.kms.test.", "u2.kms.test."])


class BindReference(ServerCase):
    EXPECT = {"i": "NOTAUTH (TSIG BADSIG): key \"kms-publisher\" does not match the server's",
              "ii": "NOTAUTH (TSIG BADKEY): the server does not know key \"nobody-knows-me\"",
              "iii": "REFUSED: key \"kms-other\" may not make this change (update-policy)",
              "iv": "REFUSED: key \"kms-publisher\" may not make this change (update-policy)",
              "v": "REFUSED: the server does not allow this update without a TSIG key",
              "vi": "NOTAUTH (TSIG BADTIME): clocks differ by 400 s (server behind)"}
    """The same fault cases against named (harness.Named), for the FAULT
    lines to compare with."""

    class _Named(harness.Named):
        @classmethod
        def available(cls):
            return bool(shutil.which("named"))

    SERVER = _Named

    def test_refused_updates(self):
        ns = self.start_server()
        self.run_fault_cases(ns, "BIND")


if __name__ == "__main__":
    harness.main()
