"""The JavaScript packages of the scenario tests (tests/node/package.json), installed once per build
directory with `npm ci --ignore-scripts` from the committed package-lock.json: exact versions, every tarball
checked against its integrity hash, and no package's install scripts run (CI runs the tests as root).

node_modules(skip) -> the node_modules directory for NODE_PATH; calls skip(msg) (which must not return)
when node/npm are missing or the registry cannot be reached.  A tarball that does not match its hash is
a failure, not a skip."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

_SRC = os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
_BUILD = os.environ.get("JW_BUILD_DIR", os.path.join(_SRC, "build"))
_FILES = ("package.json", "package-lock.json")


def _digest(d):
    h = hashlib.sha256()
    for f in _FILES:
        with open(os.path.join(d, f), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def node_modules(skip):
    if not shutil.which("node") or not shutil.which("npm"):
        skip("node or npm not installed")
    src = os.path.join(_SRC, "tests", "node")
    dest = os.path.join(_BUILD, "node")
    mods = os.path.join(dest, "node_modules")
    stamp = os.path.join(dest, ".installed")
    want = _digest(src)
    try:
        with open(stamp) as fh:
            if fh.read().strip() == want and os.path.isdir(mods):
                return mods
    except OSError:
        pass
    os.makedirs(dest, exist_ok=True)
    for f in _FILES:
        shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
    try:
        p = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=dest,
                           capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        skip("npm ci timed out (registry unreachable?)")
    out = p.stdout + p.stderr
    if p.returncode != 0:
        if "EINTEGRITY" in out:
            raise RuntimeError("npm ci: a package does not match its integrity hash:\n" + out[-2000:])
        skip("npm ci failed (registry unreachable?): " + out[-800:])
    with open(stamp, "w") as fh:
        fh.write(want + "\n")
    return mods


def run_fidelity_script(t, skip, script, cfg):
    """Runs tests/node/SCRIPT with node against cfg (written as JSON) and the installed SDK; prints its
    output and returns its exit code (0: every check in it passed)."""
    mods = node_modules(skip)
    cfgp = t.write(script.replace(".js", ".json"), json.dumps(cfg))
    env = {"NODE_PATH": mods, "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1"}
    r = t.run([shutil.which("node"), os.path.join(_SRC, "tests", "node", script), cfgp], env=env, timeout=180)
    print(r.stdout)
    if r.stderr.strip():
        print(r.stderr[-3000:], file=sys.stderr)
    return r.returncode
