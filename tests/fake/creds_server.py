#!/usr/bin/env python3
"""Fake AWS credential endpoints in one stdlib HTTP server on 127.0.0.1:

  IMDS       PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[ROLE]
  container  GET /container/<anything>   (checks the Authorization header)
  STS        POST /                      (AssumeRole: SigV4 verified against known
                                          source keys; AssumeRoleWithWebIdentity:
                                          unsigned, token checked)

Control API (JSON):
  POST /_control/config   merge keys into the config (see DEFAULTS)
  POST /_control/fail     {"target": "imds|container|sts|any", "count": N,
                           "status": 500, "body": "..."}  next N requests fail
  GET  /_control/log      list of requests seen (method, path, target, headers
                           of interest, action, verdict)
  GET  /_control/issued   number of credential sets handed out

Usage: creds_server.py [--port-file F]   prints "PORT <n>" on stdout when ready.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "expiry_seconds": 3600,          # lifetime of issued credentials
    "akid_prefix": "ASIAFAKE",
    "imds_role": "jw-test-role",
    "imds_token_status": 200,        # e.g. 405 to force IMDSv1 fallback
    "imds_require_token": True,      # GETs without a token get 401 (v2-only)
    "container_token": None,         # expected Authorization header (None: none required)
    "sts_source_keys": {},           # akid -> secret accepted for signed AssumeRole
    "sts_web_identity_token": None,  # expected WebIdentityToken (None: any)
    "sts_region": None,              # expected signing region (None: any)
    "malformed": None,               # "imds" / "container" / "sts": reply garbage
    "fixed": None,                   # {"AccessKeyId","SecretAccessKey","Token"}: hand out exactly these
}

LOCK = threading.Lock()
STATE = {"config": dict(DEFAULTS), "fail": {}, "log": [], "issued": 0, "imds_tokens": set()}


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue():
    with LOCK:
        STATE["issued"] += 1
        n = STATE["issued"]
        cfg = STATE["config"]
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    if cfg.get("fixed"):
        f = cfg["fixed"]
        return {"AccessKeyId": f["AccessKeyId"], "SecretAccessKey": f["SecretAccessKey"], "Token": f["Token"],
                "Expiration": iso(now + float(cfg["expiry_seconds"]))}
    return {
        "AccessKeyId": "%s%08d" % (cfg["akid_prefix"], n),
        "SecretAccessKey": secrets.token_urlsafe(30),
        "Token": "tok-" + secrets.token_urlsafe(40),
        "Expiration": iso(now + float(cfg["expiry_seconds"])),
    }


def sigv4_verify(method, path, headers, body, keys, want_region):
    """Returns (ok, reason, akid)."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False, "no SigV4 Authorization header", None
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = parts.get("Credential", "").split("/")
    if len(cred) != 5 or cred[3] != "sts" or cred[4] != "aws4_request":
        return False, "bad credential scope %r" % parts.get("Credential"), None
    akid, date, region = cred[0], cred[1], cred[2]
    if want_region and region != want_region:
        return False, "region %s, expected %s" % (region, want_region), akid
    secret = keys.get(akid)
    if secret is None:
        return False, "unknown access key", akid
    signed = parts.get("SignedHeaders", "").split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return False, "host/x-amz-date not signed", akid
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        return False, "date mismatch", akid
    canon_headers = ""
    for h in signed:
        v = headers.get(h)
        if v is None:
            return False, "signed header %s missing" % h, akid
        canon_headers += "%s:%s\n" % (h, " ".join(v.strip().split()))
    creq = "\n".join([method, path, "", canon_headers, ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/sts/aws4_request" % (date, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for m in (date, region, "sts", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, parts.get("Signature", "")):
        return False, "signature mismatch", akid
    return True, "ok", akid


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, body, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, target, **kw):
        entry = {"method": self.command, "path": self.path, "target": target}
        for h in ("Authorization", "X-Aws-Ec2-Metadata-Token", "X-Aws-Ec2-Metadata-Token-Ttl-Seconds",
                  "Content-Type", "X-Amz-Security-Token"):
            if self.headers.get(h) is not None:
                entry[h.lower()] = self.headers.get(h)
        entry.update(kw)
        with LOCK:
            STATE["log"].append(entry)

    def injected_failure(self, target):
        with LOCK:
            for key in (target, "any"):
                f = STATE["fail"].get(key)
                if f and f["count"] > 0:
                    f["count"] -= 1
                    return f
        return None

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def target_of(self):
        if self.path.startswith("/_control/"):
            return "control"
        if self.path.startswith("/latest/"):
            return "imds"
        if self.path.startswith("/container/"):
            return "container"
        return "sts"

    def handle_any(self):
        target = self.target_of()
        body = self.body()
        if target == "control":
            return self.control(body)
        f = self.injected_failure(target)
        if f:
            self.record(target, verdict="injected %d" % f["status"])
            return self.reply(f["status"], f.get("body", "injected failure"), "text/plain")
        with LOCK:
            cfg = json.loads(json.dumps(STATE["config"]))
        getattr(self, "do_" + target)(cfg, body)

    do_GET = do_PUT = do_POST = handle_any

    def control(self, body):
        if self.path == "/_control/config" and self.command == "POST":
            with LOCK:
                STATE["config"].update(json.loads(body or b"{}"))
            return self.reply(200, "{}")
        if self.path == "/_control/fail" and self.command == "POST":
            f = json.loads(body)
            with LOCK:
                STATE["fail"][f.get("target", "any")] = {"count": int(f.get("count", 1)),
                                                         "status": int(f.get("status", 500)),
                                                         "body": f.get("body", "injected failure")}
            return self.reply(200, "{}")
        if self.path == "/_control/log":
            with LOCK:
                return self.reply(200, json.dumps(STATE["log"]))
        if self.path == "/_control/issued":
            with LOCK:
                return self.reply(200, json.dumps({"issued": STATE["issued"]}))
        return self.reply(404, "{}")

    def do_imds(self, cfg, body):
        if self.path == "/latest/api/token":
            if self.command != "PUT":
                self.record("imds", verdict="token not PUT")
                return self.reply(405, "", "text/plain")
            if cfg["imds_token_status"] != 200:
                self.record("imds", verdict="token %d" % cfg["imds_token_status"])
                return self.reply(cfg["imds_token_status"], "", "text/plain")
            if not self.headers.get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"):
                self.record("imds", verdict="no ttl header")
                return self.reply(400, "", "text/plain")
            tok = "imdstok-" + secrets.token_hex(16)
            with LOCK:
                STATE["imds_tokens"].add(tok)
            self.record("imds", verdict="token")
            return self.reply(200, tok, "text/plain")
        tok = self.headers.get("X-Aws-Ec2-Metadata-Token")
        with LOCK:
            tok_ok = tok in STATE["imds_tokens"]
        if tok is not None and not tok_ok:
            self.record("imds", verdict="bad token")
            return self.reply(401, "", "text/plain")
        if tok is None and cfg["imds_require_token"] and cfg["imds_token_status"] == 200:
            self.record("imds", verdict="v1 refused")
            return self.reply(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            self.record("imds", verdict="role")
            return self.reply(200, cfg["imds_role"], "text/plain")
        if self.path == base + cfg["imds_role"]:
            if cfg["malformed"] == "imds":
                self.record("imds", verdict="malformed")
                return self.reply(200, '{"Code": "Success", "AccessKeyId": ')
            c = issue()
            self.record("imds", verdict="creds", akid=c["AccessKeyId"])
            return self.reply(200, json.dumps({"Code": "Success", "LastUpdated": iso(0), "Type": "AWS-HMAC",
                                               "AccessKeyId": c["AccessKeyId"],
                                               "SecretAccessKey": c["SecretAccessKey"],
                                               "Token": c["Token"], "Expiration": c["Expiration"]}))
        self.record("imds", verdict="404")
        return self.reply(404, "", "text/plain")

    def do_container(self, cfg, body):
        want = cfg["container_token"]
        if want is not None and self.headers.get("Authorization") != want:
            self.record("container", verdict="bad authorization")
            return self.reply(403, '{"code":"AccessDenied","message":"bad token"}')
        if cfg["malformed"] == "container":
            self.record("container", verdict="malformed")
            return self.reply(200, "not json")
        c = issue()
        self.record("container", verdict="creds", akid=c["AccessKeyId"])
        return self.reply(200, json.dumps(c))

    def sts_error(self, status, code, msg):
        return self.reply(status, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                          "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                          "<RequestId>r-1</RequestId></ErrorResponse>" % (code, msg), "text/xml")

    def do_sts(self, cfg, body):
        if self.command != "POST":
            self.record("sts", verdict="not POST")
            return self.sts_error(400, "InvalidAction", "POST only")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        action = form.get("Action")
        if form.get("Version") != "2011-06-15":
            self.record("sts", action=action, verdict="bad version")
            return self.sts_error(400, "InvalidParameterValue", "bad Version")
        if action == "AssumeRoleWithWebIdentity":
            if "Authorization" in self.headers:
                self.record("sts", action=action, verdict="signed")
                return self.sts_error(400, "InvalidRequest", "must be unsigned")
            want = cfg["sts_web_identity_token"]
            if want is not None and form.get("WebIdentityToken") != want:
                self.record("sts", action=action, verdict="bad token")
                return self.sts_error(400, "InvalidIdentityToken", "Couldn't verify the token")
            verdict, akid_src = "ok", None
        elif action == "AssumeRole":
            ok, why, akid_src = sigv4_verify("POST", urllib.parse.urlsplit(self.path).path or "/",
                                             self.headers, body, cfg["sts_source_keys"], cfg["sts_region"])
            if not ok:
                self.record("sts", action=action, verdict=why, source_akid=akid_src)
                return self.sts_error(403, "SignatureDoesNotMatch", why)
            verdict = "signed ok"
        else:
            self.record("sts", action=action, verdict="unknown action")
            return self.sts_error(400, "InvalidAction", "unknown action")
        if not form.get("RoleArn") or not form.get("RoleSessionName"):
            self.record("sts", action=action, verdict="missing params")
            return self.sts_error(400, "MissingParameter", "RoleArn and RoleSessionName required")
        if cfg["malformed"] == "sts":
            self.record("sts", action=action, verdict="malformed")
            return self.reply(200, "<%sResponse><unclosed>" % action, "text/xml")
        c = issue()
        self.record("sts", action=action, verdict=verdict, source_akid=akid_src, akid=c["AccessKeyId"],
                    role_arn=form.get("RoleArn"), session=form.get("RoleSessionName"))
        xml = ("<{a}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{a}Result>"
               "<Credentials><AccessKeyId>{k}</AccessKeyId><SecretAccessKey>{s}</SecretAccessKey>"
               "<SessionToken>{t}</SessionToken><Expiration>{e}</Expiration></Credentials>"
               "<AssumedRoleUser><Arn>{r}/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>"
               "</{a}Result><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></{a}Response>"
               ).format(a=action, k=c["AccessKeyId"], s=c["SecretAccessKey"], t=c["Token"],
                        e=c["Expiration"], r=form.get("RoleArn"))
        return self.reply(200, xml, "text/xml")


class FakeCredsServer:
    """Test-side handle: starts this file as a subprocess, talks to its control API."""

    def __init__(self):
        import subprocess
        self.proc = subprocess.Popen([sys.executable, __file__], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("creds_server did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def _call(self, method, path, obj=None):
        import urllib.request
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def config(self, **kw):
        return self._call("POST", "/_control/config", kw)

    def fail(self, target, count, status=500, body="injected failure"):
        return self._call("POST", "/_control/fail", {"target": target, "count": count, "status": status,
                                                     "body": body})

    def log(self, target=None):
        return [e for e in self._call("GET", "/_control/log") if target is None or e["target"] == target]

    def issued(self):
        return self._call("GET", "/_control/issued")["issued"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
