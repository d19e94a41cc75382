#!/usr/bin/python3
"""The JavaScript the tests run is pinned (issue #20, item 6): tests/node/package.json names exact versions,
the committed package-lock.json holds a sha512 integrity hash for every package, and no test installs
packages any other way than tests/lib/jwnode.py's `npm ci --ignore-scripts` (no `npm install`, which would
resolve versions afresh and run install scripts as root in CI)."""

import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402

SRC = os.environ.get("JW_SOURCE_DIR", ".")


def test(t):
    node = os.path.join(SRC, "tests", "node")
    pkg = json.load(open(os.path.join(node, "package.json")))
    deps = pkg.get("dependencies", {})
    jw.check(deps, "tests/node/package.json has no dependencies")
    for name, version in deps.items():
        jw.check(re.fullmatch(r"\d+\.\d+\.\d+", version), "%s is not pinned to one version: %r" % (name, version))
    lock = json.load(open(os.path.join(node, "package-lock.json")))
    pkgs = {k: v for k, v in lock.get("packages", {}).items() if k}
    jw.check(len(pkgs) >= len(deps), "the lockfile lists %d packages" % len(pkgs))
    for path, p in pkgs.items():
        jw.check(str(p.get("integrity", "")).startswith("sha512-"), "%s has no sha512 integrity" % path)
    for name, version in deps.items():
        jw.check_eq(pkgs.get("node_modules/" + name, {}).get("version"), version, "locked version of " + name)

    jwnode = open(os.path.join(SRC, "tests", "lib", "jwnode.py")).read()
    jw.check('"npm", "ci", "--ignore-scripts"' in jwnode, "jwnode.py runs npm ci --ignore-scripts")
    scripts = glob.glob(os.path.join(SRC, "tests", "**", "*.py"), recursive=True)
    scripts += glob.glob(os.path.join(SRC, "tests", "**", "*.sh"), recursive=True)
    scripts += [os.path.join(SRC, "Makefile"), os.path.join(SRC, "tests", "tests.cmake")]
    for f in scripts:
        if os.path.abspath(f) == os.path.abspath(__file__):
            continue
        text = open(f, errors="replace").read()
        jw.check(not re.search(r"""npm["',\s]+(install|i|add)\b""", text), "%s runs npm install" % f)


jw.main(test)
