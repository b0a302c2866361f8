#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dependency rule of the tree (README, "Layout"), checked on every
#include of every source file, test and benchmark.

    base       uses nothing of ours
    dns        base                      (the only user of ldns and c-ares)
    rpc        base
    publisher  dns, base
    kms/core   rpc, publisher, dns, base (and never libuv, not even through
               a header it includes)
    kms/daemon kms/core, rpc, publisher, dns, base
    resolver   rpc, dns, base
    fleet      publisher, resolver, rpc, dns, base (the sweep, the handover,
               kms-publish); kmsctl (fleet/kmsctl_main.c) also kms/daemon and
               kms/core: kmsd's control protocol

Nothing includes a layer above it, publisher and resolver never include
each other, and each library's own dependencies (ldns, c-ares, jansson,
inih) stay inside the one module that wraps them.  A unit test or fuzz
target may include what the library it links may.  Exit 0, or 1 with one
line per breach.  stdlib only.
"""

import os
import re
import sys

SRC = os.environ.get("KMSDNS_SRC") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..")

ALLOWED = {
    "base": {"base"},
    "dns": {"dns", "base"},
    "rpc": {"rpc", "base"},
    "publisher": {"publisher", "dns", "base"},
    "kms/core": {"kms/core", "rpc", "publisher", "dns", "base"},
    "kms/daemon": {"kms/daemon", "kms/core", "rpc", "publisher", "dns", "base"},
    "resolver": {"resolver", "rpc", "dns", "base"},
    "fleet": {"fleet", "publisher", "resolver", "rpc", "dns", "base"},
}
# Files that may use more than their layer: the program on top of two.
EXTRA = {
    "fleet/kmsctl_main.c": {"kms/daemon", "kms/core"},
}
LAYERS = sorted(ALLOWED, key=len, reverse=True)  # "kms/core" before "kms"

# System headers of a wrapped library: (header pattern, files that may include it).
WRAPPED = [
    (re.compile(r"^ldns/"), re.compile(r"^dns/")),
    (re.compile(r"^ares"), re.compile(r"^dns/query\.c$")),
    # TLS (libssl and its X.509 checks) behind dns/tls.c and dns/dot.c (tls_int.h between them);
    # its unit test runs a TLS responder.
    # dns/tsig.c and resolver/client_id.c use libcrypto's HMAC, which stays free to use.
    (re.compile(r"^openssl/(ssl|tls1|x509|pem)"),
     re.compile(r"^(dns/(tls\.c|tls_int\.h|dot\.c)|tests/unit/dns/test_tls\.c)$")),
    (re.compile(r"^jansson\.h$"), re.compile(r"^base/json\.c$")),
    (re.compile(r"^ini\.h$"), re.compile(r"^kms/daemon/config\.c$")),
]
FORBIDDEN_IN_CORE = "uv.h"

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(path):
    """The layer a project path ("kms/core/host.c") belongs to, or None."""
    for layer in LAYERS:
        if path == layer or path.startswith(layer + "/"):
            return layer
    return None


def includes(path):
    """[(kind, header, line number)] of one file."""
    out = []
    with open(os.path.join(SRC, path), encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                out.append((m.group(1), m.group(2), n))
    return out


def project_files():
    for top in list(ALLOWED) + ["tests/unit", "tests/fuzz", "tests/tools", "bench"]:
        for root, _dirs, files in os.walk(os.path.join(SRC, top)):
            for name in files:
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(root, name), SRC).replace(os.sep, "/")


def test_layer(path):
    """The layer whose rule a test file follows: the library it links."""
    rel = path.split("/", 2)[2] if path.startswith("tests/unit/") else None
    if rel:
        return layer_of(rel)
    return None


# What each fuzz target, tool and benchmark links (tests/fuzz, tests/tools, bench CMakeLists).
LINKS = {
    "tests/fuzz/fuzz_dns_reply.c": "dns", "tests/fuzz/fuzz_keyfile.c": "dns",
    "tests/fuzz/fuzz_tkey.c": "dns", "tests/fuzz/fuzz_dns_stream.c": "dns",
    "tests/fuzz/fuzz_rpc_pdu.c": "rpc", "tests/fuzz/fuzz_framer.c": "rpc",
    "tests/fuzz/fuzz_activation.c": "rpc", "tests/fuzz/fuzz_state.c": "kms/core",
    "tests/fuzz/fuzz_control.c": "kms/core", "tests/fuzz/fuzz_config.c": "kms/daemon",
    "tests/fuzz/fuzz_ctl_reply.c": "kms/daemon", "tests/fuzz/fuzz_resolvconf.c": "resolver",
    "tests/fuzz/fuzz_srv_answer.c": "resolver", "tests/fuzz/fuzz_hostcache.c": "resolver",
    "tests/fuzz/fuzz_client_id.c": "resolver", "tests/fuzz/fuzz_sweepstate.c": "fleet",
    "tests/fuzz/replay_main.c": "base",
    "tests/tools/kms_client.c": "rpc", "tests/tools/locate_listener.c": "rpc",
    "tests/tools/rpc_test_server.c": "rpc",
    "bench/bench_host.c": "rpc", "bench/bench_locate.c": "resolver",
}


def main():
    breaches = []
    graph = {}  # project header/source -> project headers it includes
    files = sorted(set(project_files()))
    for path in files:
        own = layer_of(path) or test_layer(path) or LINKS.get(path)
        if path.startswith("tests/unit/") and not own:
            breaches.append("%s: a unit test outside tests/unit/<folder>/ of a layer" % path)
            continue
        if own is None:
            breaches.append("%s: not in any layer (add it to tests/layers.py)" % path)
            continue
        graph[path] = []
        for kind, header, n in includes(path):
            if kind == "<":
                for pattern, who in WRAPPED:
                    if pattern.search(header) and not who.search(path):
                        breaches.append("%s:%d: <%s> outside the module that wraps it"
                                        % (path, n, header))
                continue
            if header.startswith("tests/"):
                continue  # test helpers
            target = layer_of(header)
            if target is None:
                breaches.append('%s:%d: "%s" is in no layer' % (path, n, header))
                continue
            graph[path].append(header)
            if target not in ALLOWED[own] and target not in EXTRA.get(path, ()):
                breaches.append('%s:%d: %s includes "%s" (%s may use only %s)'
                                % (path, n, own, header, own, ", ".join(sorted(ALLOWED[own]))))
    # kms/core never touches libuv, not even through what it includes.
    for path in files:
        if layer_of(path) != "kms/core":
            continue
        seen, todo = set(), [path]
        while todo:
            f = todo.pop()
            if f in seen or not os.path.exists(os.path.join(SRC, f)):
                continue
            seen.add(f)
            for kind, header, n in includes(f):
                if kind == "<" and header == FORBIDDEN_IN_CORE:
                    breaches.append("%s: reaches <uv.h> through %s:%d (the host core never "
                                    "touches libuv)" % (path, f, n))
                elif kind == '"' and layer_of(header):
                    todo.append(header)
    for b in breaches:
        print(b)
    print("layers: %d files, %d breaches" % (len(files), len(breaches)))
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
