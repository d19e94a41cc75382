#!/usr/bin/env python3
"""Where the CPU of a poll goes: reads `perf script` output (samples with call graphs) on stdin and prints the
share of samples per category as a Markdown table.

Each sample is walked from the leaf towards the root; the first frame that matches a rule decides its category,
so a kernel write() under SQLite counts as SQLite, a malloc() anywhere counts as allocation, and a
SHA-256 under the signer counts as signing (not TLS).  Also prints the inclusive share of a few daemon
functions (the sample's stack contains the function).

usage: perf script -i perf.data | bench/perf_categories.py [--top 25]
"""

import collections
import re
import sys

# (category, symbol regex, dso regex), checked in order against each frame, leaf first.
RULES = [
    ("allocation (malloc/free)", r"^(_int_malloc|malloc|_int_free|cfree|free|calloc|realloc|_int_realloc|"
     r"malloc_consolidate|unlink_chunk|__GI___libc_malloc|__GI___libc_free|tcache_|sysmalloc|_int_memalign|"
     r"__libc_calloc|__libc_realloc)", None),
    ("signing (SigV4, HMAC-SHA256)", r"^(sigv4_|aws_sign|canonical_|hmac|HMAC|sha256|SHA256|string_to_sign|"
     r"signing_key|uri_encode)", None),
    ("JSON parse (cJSON, model)", r"^(cJSON_|parse_|aws_parse|get_string|get_object|get_time|get_number|"
     r"get_int64|get_string_map|print_|job_observation)", r"libcjson"),
    ("SQLite (state writes, commits)", r"^(sqlite3|store_|tracker_commit|tracker_put)", r"libsqlite3"),
    ("TLS (OpenSSL record layer)", r"^(SSL_|ssl3_|ssl_|tls_|ossl_|EVP_|aesni|gcm_|aes_)", r"libssl|libcrypto"),
    ("HTTP/2 framing (nghttp2)", None, r"libnghttp2"),
    ("libcurl (HTTP, sockets)", r"^(curl_|Curl_|multi_|http_submit|transfer_|build_headers|on_http_done|"
     r"header_cb|write_cb)", r"libcurl"),
    ("event loop (libuv, epoll)", r"^(uv_|epoll_|uv__)", r"libuv"),
    ("tracker / scheduler / engine", r"^(tracker_|sched_|engine_|on_get|poll_dispatch|reschedule|kick|"
     r"start_attempt|deliver)", None),
]
COMPILED = [(c, re.compile(s) if s else None, re.compile(d) if d else None) for c, s, d in RULES]
INCLUSIVE = ["sigv4_sign", "aws_parse_get", "tracker_observe", "store_put_job", "store_flush", "store_add_event",
             "curl_multi_socket_action", "http_submit", "start_attempt", "epoll_wait", "on_get"]

SIGNING = COMPILED[1][1]
FRAME = re.compile(r"^\s*[0-9a-f]+ (.+?) \((.*)\)$")


def classify(frames, skip_alloc=False):
    for i, (sym, dso) in enumerate(frames):
        name = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        for cat, srx, drx in COMPILED:
            if skip_alloc and cat.startswith("allocation"):
                continue
            if (srx and srx.search(name)) or (drx and drx.search(dso)):
                # libcrypto under the signer is signing, not TLS.
                if cat.startswith("TLS") and any(SIGNING.search(re.sub(r"\+0x[0-9a-f]+$", "", s))
                                                 for s, _ in frames[i:]):
                    return COMPILED[1][0]
                return cat
    if frames and "kernel" in frames[0][1]:
        return "kernel, other (scheduling, interrupts)"
    return "other"


def main():
    cats = collections.Counter()
    kern = collections.Counter()
    alloc_by = collections.Counter()
    incl = collections.Counter()
    total = 0
    frames = []
    for line in sys.stdin.read().splitlines() + [""]:
        if not line.strip():
            if frames:
                total += 1
                c = classify(frames)
                cats[c] += 1
                if "kernel" in frames[0][1]:
                    kern[c] += 1
                if c.startswith("allocation"):
                    alloc_by[classify(frames, skip_alloc=True)] += 1
                names = {re.sub(r"\+0x[0-9a-f]+$", "", s) for s, _ in frames}
                for f in INCLUSIVE:
                    if f in names:
                        incl[f] += 1
            frames = []
            continue
        m = FRAME.match(line)
        if m:
            frames.append((m.group(1), m.group(2)))
    if not total:
        print("no samples")
        return 1
    print("| category (by first matching frame from the leaf) | share of samples | of which in the kernel |")
    print("|---|---|---|")
    for c, n in cats.most_common():
        print("| %s | %.1f %% | %.1f %% |" % (c, 100.0 * n / total, 100.0 * kern[c] / total))
    print("")
    print("| allocation samples, by caller category | share of all samples |")
    print("|---|---|")
    for c, n in alloc_by.most_common():
        print("| %s | %.1f %% |" % (c, 100.0 * n / total))
    print("")
    print("| function (inclusive: on the stack) | share of samples |")
    print("|---|---|")
    for f in INCLUSIVE:
        print("| `%s` | %.1f %% |" % (f, 100.0 * incl[f] / total))
    print("")
    print("%d samples" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
