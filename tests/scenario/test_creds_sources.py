#!/usr/bin/env python3
"""Every credential source against a local fake of its endpoint, through the
daemon's own chain (tests/helpers/creds_fetch): environment, shared files,
credential_process, container, IMDSv2 (+ v1 fallback, disabled), web
identity -> STS, assume role -> STS (signature verified by the fake), and the
errors a user sees when a source is broken."""
import hashlib
import os
import stat
import subprocess
import sys
import tempfile
import textwrap

SRC = os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("JW_BUILD_DIR")
sys.path.insert(0, os.path.join(SRC, "tests", "fake"))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from creds_server import FakeCredsServer  # noqa: E402
import jwtest as jw  # noqa: E402

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
FETCH = os.path.join(BUILD or "", "helpers", "creds_fetch")


def fetch(tmp, env=None, args=(), timeout=60):
    """Runs creds_fetch with a clean AWS environment; returns (rc, lines, stderr)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update({
        "HOME": tmp,
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "credentials"),
        "AWS_CONFIG_FILE": os.path.join(tmp, "config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    p = subprocess.run([FETCH] + list(args), env=e, capture_output=True, text=True, timeout=timeout)
    check_stderr(p.stderr)
    return p.returncode, p.stdout.splitlines(), p.stderr


def check_stderr(err):
    """Sanitizer reports fail the case; secrets never reach the logs."""
    for bad in ("Sanitizer", "runtime error:", SECRET):
        if bad in err:
            jw.fail("stderr has %r:\n%s" % (bad if bad != SECRET else "the secret", err))


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def ok_line(lines):
    for l in lines:
        if l.startswith("ok "):
            return fields(l)
    jw.fail("no credentials: %r" % lines)


def error_of(lines):
    for l in lines:
        if l.startswith("error: "):
            return l[len("error: "):]
    jw.fail("no error line: %r" % lines)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    os.chmod(path, mode)
    return path


def sha8(s):
    return hashlib.sha256(s.encode()).hexdigest()[:8]


# ---------------------------------------------------------------- environment

def case_env(tmp, fake):
    rc, lines, _ = fetch(tmp, {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": SECRET})
    c = ok_line(lines)
    jw.check(rc == 0 and c["source"] == "environment" and c["akid"] == "AKIDENV", lines)
    jw.check(c["secret_sha256"] == sha8(SECRET) and c["token"] == "no" and c["expiration"] == "none", c)
    rc, lines, _ = fetch(tmp, {"AWS_ACCESS_KEY_ID": "ASIAENV", "AWS_SECRET_ACCESS_KEY": SECRET,
                               "AWS_SESSION_TOKEN": "tok", "AWS_CREDENTIAL_EXPIRATION": "2099-01-01T00:00:00Z"})
    c = ok_line(lines)
    jw.check(c["token"] == "yes" and c["expiration"] == "2099-01-01T00:00:00Z", c)
    # The environment wins over a profile.
    write(os.path.join(tmp, "credentials"), "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n")
    rc, lines, _ = fetch(tmp, {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": SECRET})
    jw.check(ok_line(lines)["akid"] == "AKIDENV", lines)


def case_env_partial(tmp, fake):
    rc, lines, _ = fetch(tmp, {"AWS_SECRET_ACCESS_KEY": SECRET})
    err = error_of(lines)
    jw.check(rc == 1 and err == "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not", err)
    jw.check(SECRET not in "\n".join(lines), "secret leaked")
    rc, lines, _ = fetch(tmp, {"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": SECRET,
                               "AWS_CREDENTIAL_EXPIRATION": "soon"})
    jw.check(error_of(lines) == "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 timestamp", lines)


def case_nothing(tmp, fake):
    rc, lines, _ = fetch(tmp)
    err = error_of(lines)
    jw.check(rc == 1 and err.startswith("no credentials found (environment: AWS_ACCESS_KEY_ID not set; "
                                      "web identity: not configured; shared files: profile \"default\" not found"),
           err)
    jw.check(err.endswith("container: not configured; imds: disabled by AWS_EC2_METADATA_DISABLED)"), err)


# ---------------------------------------------------------------- shared files

def case_profile_static(tmp, fake):
    write(os.path.join(tmp, "credentials"), """\
        # comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = %s
        [prod]
        aws_access_key_id=AKIDPROD
        aws_secret_access_key=%s
        aws_session_token = prodtok
        """ % (SECRET, SECRET + "2"))
    write(os.path.join(tmp, "config"), """\
        [profile dev]
        region = eu-west-1
        aws_access_key_id = AKIDDEV
        aws_secret_access_key = devsecret
        s3 =
          max_concurrent_requests = 10
        [dev]
        aws_access_key_id = NOTAPROFILE
        """)
    c = ok_line(fetch(tmp)[1])
    jw.check(c["source"] == "profile:default" and c["akid"] == "AKIDDEFAULT", c)
    c = ok_line(fetch(tmp, {"AWS_PROFILE": "prod"})[1])
    jw.check(c["source"] == "profile:prod" and c["akid"] == "AKIDPROD" and c["token"] == "yes", c)
    jw.check(c["secret_sha256"] == sha8(SECRET + "2"), c)
    c = ok_line(fetch(tmp, {"AWS_PROFILE": "prod"}, ["--profile", "dev"])[1])
    jw.check(c["source"] == "profile:dev" and c["akid"] == "AKIDDEV", c)
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "nope"})
    err = error_of(lines)
    jw.check(rc == 1 and err.startswith('shared files: profile "nope" not found in %s/credentials' % tmp), err)


def case_explicit_profile_beats_env(tmp, fake):
    """An explicit [aws] profile (--profile here) negates the environment
    keys, as botocore drops its EnvProvider for a profile given to the
    session; AWS_PROFILE alone does not (the environment still wins)."""
    write(os.path.join(tmp, "credentials"), "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = %s\n"
          % (SECRET + "3"))
    env = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": SECRET}
    rc, lines, err = fetch(tmp, env, ["--profile", "ops"])
    c = ok_line(lines)
    jw.check(rc == 0 and c["source"] == "profile:ops" and c["akid"] == "AKIDOPS", c)
    jw.check(c["secret_sha256"] == sha8(SECRET + "3"), c)
    jw.check("[aws] profile ops is set, so AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment "
           "are not used" in err, err)
    c = ok_line(fetch(tmp, dict(env, AWS_PROFILE="ops"))[1])
    jw.check(c["source"] == "environment" and c["akid"] == "AKIDENV", c)
    # The web identity variables are the environment's too.
    tok = write(os.path.join(tmp, "wit"), "eyJ.jwt.token\n")
    wenv = {"AWS_WEB_IDENTITY_TOKEN_FILE": tok, "AWS_ROLE_ARN": "arn:aws:iam::1:role/irsa",
            "AWS_ENDPOINT_URL_STS": fake.url + "/"}
    n = len(fake.log("sts"))
    c = ok_line(fetch(tmp, wenv, ["--profile", "ops"])[1])
    jw.check(c["source"] == "profile:ops" and len(fake.log("sts")) == n, (c, fake.log("sts")[n:]))
    # A missing explicit profile is an error, never a fall-back to the environment.
    rc, lines, _ = fetch(tmp, env, ["--profile", "nope"])
    msg = error_of(lines)
    jw.check(rc == 1 and msg.startswith('shared files: profile "nope" not found'), msg)
    # The profile's credential_source = Environment still reads the keys (it is the profile's own choice).
    fake.config(sts_source_keys={"AKIDENV": SECRET}, sts_region="us-east-1")
    write(os.path.join(tmp, "config"), "[profile envrole]\nrole_arn = arn:aws:iam::1:role/e\n"
          "credential_source = Environment\n")
    c = ok_line(fetch(tmp, dict(env, AWS_ENDPOINT_URL_STS=fake.url, AWS_REGION="us-east-1"),
                      ["--profile", "envrole"])[1])
    jw.check(c["source"].startswith("assume-role:envrole"), c)
    fake.config(sts_source_keys={}, sts_region=None)
    os.unlink(os.path.join(tmp, "config"))
    os.unlink(os.path.join(tmp, "credentials"))


def case_profile_bad_files(tmp, fake):
    write(os.path.join(tmp, "config"), "[default]\nregion = x\n\n[broken\n")
    rc, lines, _ = fetch(tmp)
    jw.check(error_of(lines) == "shared config file %s/config: line 4: section header without ']'" % tmp, lines)
    os.unlink(os.path.join(tmp, "config"))
    os.mkdir(os.path.join(tmp, "credentials"))
    rc, lines, _ = fetch(tmp)
    jw.check(error_of(lines) == "shared credentials file %s/credentials: Is a directory" % tmp, lines)
    os.rmdir(os.path.join(tmp, "credentials"))
    write(os.path.join(tmp, "credentials"), "[default]\naws_access_key_id = A\n")
    rc, lines, _ = fetch(tmp)
    jw.check(error_of(lines) == "shared files: profile default: aws_access_key_id without aws_secret_access_key",
           lines)


# ---------------------------------------------------------------- credential_process

PROCESS = """\
#!/usr/bin/env python3
import json, os, sys
state = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls")
n = int(open(state).read()) + 1 if os.path.exists(state) else 1
open(state, "w").write(str(n))
open(state + ".argv", "w").write(json.dumps(sys.argv[1:]))
mode = sys.argv[1]
if mode == "fail-once" and n == 1:
    sys.stderr.write("temporary failure\\nmore detail\\n")
    sys.exit(2)
if mode == "exit3":
    sys.stderr.write("\\nboom: no session\\nsecond line\\n")
    sys.exit(3)
if mode == "garbage":
    print("this is not json")
    sys.exit(0)
if mode == "sleep":
    import time
    time.sleep(60)
print(json.dumps({"Version": 1, "AccessKeyId": "AKIDPROC%%d" %% n, "SecretAccessKey": "%s",
                  "SessionToken": "ptok", "Expiration": "2099-01-01T00:00:00Z"}))
""" % SECRET


def process_setup(tmp, args):
    d = os.path.join(tmp, "dir with space")
    os.makedirs(d, exist_ok=True)
    for f in ("calls", "calls.argv"):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    script = write(os.path.join(d, "cred-proc"), PROCESS, 0o755)
    write(os.path.join(tmp, "config"), "[profile p]\ncredential_process = \"%s\" %s\n" % (script, args))
    return d


def case_process(tmp, fake):
    d = process_setup(tmp, "ok 'two words' \"q\\\"uote\" back\\ slash $HOME")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"})
    c = ok_line(lines)
    jw.check(c["source"] == "credential_process:p" and c["akid"] == "AKIDPROC1", c)
    jw.check(c["expiration"] == "2099-01-01T00:00:00Z" and c["token"] == "yes", c)
    import json
    argv = json.load(open(os.path.join(d, "calls.argv")))
    # No shell: quotes honoured, $HOME not expanded.
    jw.check(argv == ["ok", "two words", 'q"uote', "back slash", "$HOME"], argv)


def case_process_errors(tmp, fake):
    process_setup(tmp, "exit3")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"})
    jw.check(rc == 1 and error_of(lines) == "credential_process (profile p): exit status 3: boom: no session", lines)
    process_setup(tmp, "garbage")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"})
    jw.check(error_of(lines) == "credential_process (profile p): malformed JSON", lines)
    process_setup(tmp, "sleep")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"}, ["--timeout-ms", "700"])
    jw.check(error_of(lines) == "credential_process (profile p): timed out after 700 ms (killed)", lines)
    write(os.path.join(tmp, "config"), "[profile p]\ncredential_process = /nonexistent/cmd --x\n")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"})
    jw.check(error_of(lines).startswith("credential_process (profile p): cannot run command: "), lines)
    write(os.path.join(tmp, "config"), "[profile p]\ncredential_process = cmd 'unterminated\n")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"})
    jw.check(error_of(lines) == "credential_process (profile p): command line: unterminated single quote", lines)


def case_process_fail_then_succeed(tmp, fake):
    process_setup(tmp, "fail-once")
    rc, lines, _ = fetch(tmp, {"AWS_PROFILE": "p"}, ["--run-seconds", "2"])
    jw.check(lines and lines[0] == "error: credential_process (profile p): exit status 2: temporary failure", lines)
    c = ok_line(lines)
    jw.check(rc == 0 and c["akid"] == "AKIDPROC2", lines)


# ---------------------------------------------------------------- container

def case_container(tmp, fake):
    fake.config(container_token="Bearer tok-1")
    tokfile = write(os.path.join(tmp, "token"), "Bearer tok-1\n")
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/container/v1/credentials",
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokfile,
           "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer ignored-when-file-set"}
    rc, lines, _ = fetch(tmp, env)
    c = ok_line(lines)
    jw.check(c["source"] == "container" and c["akid"].startswith("ASIAFAKE") and c["token"] == "yes", c)
    seen = fake.log("container")[-1]
    jw.check(seen["authorization"] == "Bearer tok-1" and seen["path"] == "/container/v1/credentials", seen)
    # The file is re-read on every fetch: a rotated token is picked up.
    fake.config(container_token="Bearer tok-2")
    rc, lines, _ = fetch(tmp, env)
    jw.check(error_of(lines) == "container: HTTP 403 from credentials endpoint", lines)
    write(tokfile, "Bearer tok-2")
    jw.check(ok_line(fetch(tmp, env)[1])["source"] == "container", "rotated token")
    # Env token when there is no file.
    env2 = dict(env, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=None, AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer tok-2")
    jw.check(ok_line(fetch(tmp, env2)[1])["source"] == "container", "env token")
    env3 = dict(env2, AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer tok-2\r\nX-Evil: 1")
    jw.check(error_of(fetch(tmp, env3)[1]) == "container: authorization token variable contains CR, LF or NUL",
           "CRLF")
    fake.config(container_token=None)


def case_container_rules(tmp, fake):
    rc, lines, _ = fetch(tmp, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.10/creds"})
    err = error_of(lines)
    jw.check(err.startswith("container: AWS_CONTAINER_CREDENTIALS_FULL_URI host 192.0.2.10 not allowed over http"),
           err)
    fake.config(malformed="container")
    rc, lines, _ = fetch(tmp, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/container/x"})
    jw.check(error_of(lines) == "container: malformed JSON in credentials response", lines)
    fake.config(malformed=None)
    # localhost by name is loopback too.
    rc, lines, _ = fetch(tmp, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://localhost:%d/container/x" % fake.port})
    jw.check(ok_line(lines)["source"] == "container", lines)
    # Container comes after the shared files in the chain.
    write(os.path.join(tmp, "credentials"), "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n")
    rc, lines, _ = fetch(tmp, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/container/x"})
    jw.check(ok_line(lines)["akid"] == "AKIDFILE", lines)


# ---------------------------------------------------------------- IMDS

def imds_env(fake, **kw):
    e = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": fake.url + "/"}
    e.update(kw)
    return e


def case_imds_v2(tmp, fake):
    before = len(fake.log("imds"))
    rc, lines, _ = fetch(tmp, imds_env(fake))
    c = ok_line(lines)
    jw.check(c["source"] == "imds" and c["token"] == "yes", c)
    log = fake.log("imds")[before:]
    jw.check([(e["method"], e["verdict"]) for e in log] == [("PUT", "token"), ("GET", "role"), ("GET", "creds")], log)
    jw.check(log[0]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600", log[0])
    jw.check(all(e.get("x-aws-ec2-metadata-token", "").startswith("imdstok-") for e in log[1:]), log)
    jw.check(log[2]["path"] == "/latest/meta-data/iam/security-credentials/jw-test-role", log[2])


def case_imds_v1_fallback(tmp, fake):
    fake.config(imds_token_status=405)
    try:
        before = len(fake.log("imds"))
        c = ok_line(fetch(tmp, imds_env(fake))[1])
        jw.check(c["source"] == "imds", c)
        log = fake.log("imds")[before:]
        jw.check([e["verdict"] for e in log] == ["token 405", "role", "creds"], log)
        jw.check(not any("x-aws-ec2-metadata-token" in e for e in log), log)
        rc, lines, _ = fetch(tmp, imds_env(fake, AWS_EC2_METADATA_V1_DISABLED="true"))
        err = error_of(lines)
        jw.check(err.endswith("imds: token PUT refused and IMDSv1 is disabled"), err)
        fake.config(imds_token_status=400)
        err = error_of(fetch(tmp, imds_env(fake))[1])
        jw.check(err.endswith("imds: token PUT: HTTP 400"), err)
    finally:
        fake.config(imds_token_status=200)


def case_imds_errors(tmp, fake):
    fake.config(malformed="imds")
    err = error_of(fetch(tmp, imds_env(fake))[1])
    fake.config(malformed=None)
    jw.check(err.endswith("; imds: malformed JSON in credentials response"), err)
    jw.check(err.startswith("no credentials found (environment: AWS_ACCESS_KEY_ID not set;"), err)
    # Disabled: IMDS is never contacted.
    before = len(fake.log("imds"))
    rc, lines, _ = fetch(tmp, imds_env(fake, AWS_EC2_METADATA_DISABLED="true"))
    jw.check(rc == 1 and len(fake.log("imds")) == before, "IMDS contacted while disabled")
    # Nothing listening.
    err = error_of(fetch(tmp, imds_env(fake, AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:1"))[1])
    jw.check("imds: token PUT: " in err, err)


# ---------------------------------------------------------------- STS

def case_web_identity(tmp, fake):
    fake.config(sts_web_identity_token="eyJ.jwt.token")
    tok = write(os.path.join(tmp, "wit"), "eyJ.jwt.token\n")
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": tok, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa",
           "AWS_ROLE_SESSION_NAME": "jw-sess", "AWS_ENDPOINT_URL_STS": fake.url + "/", "AWS_REGION": "us-west-2"}
    c = ok_line(fetch(tmp, env)[1])
    jw.check(c["source"] == "web-identity" and c["token"] == "yes", c)
    e = fake.log("sts")[-1]
    jw.check(e["action"] == "AssumeRoleWithWebIdentity" and e["verdict"] == "ok" and "authorization" not in e, e)
    jw.check(e["role_arn"] == "arn:aws:iam::123456789012:role/irsa" and e["session"] == "jw-sess", e)
    write(tok, "eyJ.other")
    err = error_of(fetch(tmp, env)[1])
    jw.check(err == "web identity: sts AssumeRoleWithWebIdentity (role arn:aws:iam::123456789012:role/irsa): "
                  "HTTP 400: InvalidIdentityToken: Couldn't verify the token", err)
    jw.check("eyJ" not in err, "token leaked")
    # From profile keys.
    write(tok, "eyJ.jwt.token")
    write(os.path.join(tmp, "config"), "[profile w]\nweb_identity_token_file = %s\nrole_arn = arn:aws:iam::1:role/p\n"
          % tok)
    c = ok_line(fetch(tmp, {"AWS_PROFILE": "w", "AWS_ENDPOINT_URL_STS": fake.url})[1])
    jw.check(c["source"] == "web-identity", c)
    fake.config(malformed="sts")
    err = error_of(fetch(tmp, env)[1])
    fake.config(malformed=None, sts_web_identity_token=None)
    jw.check(err.endswith("(role arn:aws:iam::123456789012:role/irsa): malformed XML"), err)
    os.unlink(tok)
    err = error_of(fetch(tmp, env)[1])
    jw.check(err == "web identity: token file %s: No such file or directory" % tok, err)


def case_assume_role(tmp, fake):
    fake.config(sts_source_keys={"AKIDBASE": SECRET}, sts_region="us-west-2")
    write(os.path.join(tmp, "credentials"), "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = %s\n"
          % SECRET)
    write(os.path.join(tmp, "config"), """\
        [profile ar]
        role_arn = arn:aws:iam::123456789012:role/target
        source_profile = base
        role_session_name = jw-ar
        region = us-west-2
        [profile chained]
        role_arn = arn:aws:iam::123456789012:role/second
        source_profile = ar
        [profile loop1]
        role_arn = arn:aws:iam::1:role/a
        source_profile = loop2
        [profile loop2]
        role_arn = arn:aws:iam::1:role/b
        source_profile = loop1
        [profile badsrc]
        role_arn = arn:aws:iam::1:role/a
        source_profile = missing
        """)
    env = {"AWS_ENDPOINT_URL_STS": fake.url + "/"}
    c = ok_line(fetch(tmp, dict(env, AWS_PROFILE="ar"))[1])
    jw.check(c["source"] == "assume-role:ar" and c["token"] == "yes", c)
    e = fake.log("sts")[-1]
    jw.check(e["action"] == "AssumeRole" and e["verdict"] == "signed ok" and e["source_akid"] == "AKIDBASE", e)
    jw.check("Credential=AKIDBASE/" in e["authorization"] and "/us-west-2/sts/aws4_request" in e["authorization"], e)
    jw.check(e["session"] == "jw-ar" and e["role_arn"] == "arn:aws:iam::123456789012:role/target", e)
    # Two hops: the second call is signed with the first call's temporary keys.
    # A second hop is signed with the first hop's temporary keys (and their
    # session token), which this fake does not accept: the error names the hop.
    fake.config(sts_region=None)
    rc, lines, _ = fetch(tmp, dict(env, AWS_PROFILE="chained", AWS_REGION="us-west-2"))
    err = error_of(lines)
    jw.check(err.startswith("shared files: profile chained: sts AssumeRole (role arn:aws:iam::123456789012:role/second)"
                          ": HTTP 403: SignatureDoesNotMatch: unknown access key"), err)
    jw.check(fake.log("sts")[-1]["x-amz-security-token"].startswith("tok-"), "session token not sent")
    # Wrong secret for the source profile.
    fake.config(sts_source_keys={"AKIDBASE": "other"})
    err = error_of(fetch(tmp, dict(env, AWS_PROFILE="ar"))[1])
    jw.check(err.endswith("HTTP 403: SignatureDoesNotMatch: signature mismatch"), err)
    jw.check(SECRET not in err, "secret leaked")
    err = error_of(fetch(tmp, dict(env, AWS_PROFILE="loop1"))[1])
    jw.check(err == "shared files: profile loop1: source_profile chain longer than 5 or circular", err)
    err = error_of(fetch(tmp, dict(env, AWS_PROFILE="badsrc"))[1])
    jw.check(err == 'shared files: profile badsrc: source_profile "missing" not found', err)
    fake.config(sts_source_keys={}, sts_region=None)


def case_credential_source(tmp, fake):
    """role_arn + credential_source: the role is assumed with credentials from IMDS / the container endpoint /
    the environment, as botocore does; misconfigurations name the profile and the key."""
    base = {"AccessKeyId": "ASIAIMDSBASE0001", "SecretAccessKey": SECRET, "Token": "tok-imds-base"}
    fake.config(fixed=base, sts_source_keys={"ASIAIMDSBASE0001": SECRET}, sts_region="us-west-2")
    write(os.path.join(tmp, "credentials"), "")
    write(os.path.join(tmp, "config"), """\
        [profile ec2]
        role_arn = arn:aws:iam::123456789012:role/from-ec2
        credential_source = Ec2InstanceMetadata
        region = us-west-2
        [profile ecs]
        role_arn = arn:aws:iam::123456789012:role/from-ecs
        credential_source = EcsContainer
        region = us-west-2
        [profile envsrc]
        role_arn = arn:aws:iam::123456789012:role/from-env
        credential_source = Environment
        region = us-west-2
        [profile hop]
        role_arn = arn:aws:iam::123456789012:role/hop
        source_profile = ec2
        [profile both]
        role_arn = arn:aws:iam::1:role/a
        source_profile = ec2
        credential_source = Environment
        [profile bogus]
        role_arn = arn:aws:iam::1:role/a
        credential_source = Ec2Metadata
        [profile none]
        role_arn = arn:aws:iam::1:role/a
        """)
    sts = {"AWS_ENDPOINT_URL_STS": fake.url + "/"}
    try:
        # IMDS gives the base credentials; the AssumeRole is signed with them (and their session token).
        before = len(fake.log("imds"))
        c = ok_line(fetch(tmp, dict(imds_env(fake), AWS_PROFILE="ec2", **sts))[1])
        jw.check(c["source"] == "assume-role:ec2" and c["token"] == "yes", c)
        jw.check([e["verdict"] for e in fake.log("imds")[before:]] == ["token", "role", "creds"], "IMDS not asked")
        e = fake.log("sts")[-1]
        jw.check(e["action"] == "AssumeRole" and e["verdict"] == "signed ok" and e["source_akid"] == "ASIAIMDSBASE0001"
               and e["role_arn"] == "arn:aws:iam::123456789012:role/from-ec2", e)
        jw.check(e["x-amz-security-token"] == "tok-imds-base", "base session token not sent: %s" % e)
        # The container endpoint.
        c = ok_line(fetch(tmp, {"AWS_PROFILE": "ecs", "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                                fake.url + "/container/x", **sts})[1])
        jw.check(c["source"] == "assume-role:ecs", c)
        jw.check(fake.log("sts")[-1]["role_arn"] == "arn:aws:iam::123456789012:role/from-ecs", fake.log("sts")[-1])
        # Environment: with AWS_PROFILE the chain's own environment provider comes first and wins (as in
        # botocore); with an explicit profile it is skipped (case_explicit_profile_beats_env).
        c = ok_line(fetch(tmp, {"AWS_ACCESS_KEY_ID": "ASIAIMDSBASE0001", "AWS_SECRET_ACCESS_KEY": SECRET,
                                "AWS_PROFILE": "envsrc", **sts})[1])
        jw.check(c["source"] == "environment", c)
        err = error_of(fetch(tmp, {"AWS_PROFILE": "envsrc", **sts})[1])
        jw.check(err.startswith("shared files: profile envsrc: credential_source Environment: ") and
               "AWS_ACCESS_KEY_ID" in err, err)
        # A source_profile hop onto a credential_source profile: two AssumeRole calls, the second signed with
        # the fixed keys the fake hands out.
        n = len(fake.log("sts"))
        c = ok_line(fetch(tmp, dict(imds_env(fake), AWS_PROFILE="hop", AWS_REGION="us-west-2", **sts))[1])
        jw.check(c["source"] == "assume-role:hop", c)
        jw.check([x["role_arn"].rsplit("/", 1)[1] for x in fake.log("sts")[n:]] == ["from-ec2", "hop"], fake.log("sts"))
        # Errors.
        err = error_of(fetch(tmp, dict(imds_env(fake), AWS_PROFILE="both", **sts))[1])
        jw.check(err == "shared files: profile both: both source_profile and credential_source", err)
        err = error_of(fetch(tmp, dict(imds_env(fake), AWS_PROFILE="bogus", **sts))[1])
        jw.check(err == 'shared files: profile bogus: credential_source "Ec2Metadata" is not Environment, '
                      'Ec2InstanceMetadata or EcsContainer', err)
        err = error_of(fetch(tmp, {"AWS_PROFILE": "none", **sts})[1])
        jw.check(err == "shared files: profile none: role_arn without source_profile or credential_source", err)
        err = error_of(fetch(tmp, {"AWS_PROFILE": "ec2", **sts})[1])  # IMDS disabled by fetch()'s default
        jw.check(err.startswith("shared files: profile ec2: credential_source Ec2InstanceMetadata: ") and
               "AWS_EC2_METADATA_DISABLED" in err, err)
        err = error_of(fetch(tmp, {"AWS_PROFILE": "ecs", **sts})[1])
        jw.check(err.startswith("shared files: profile ecs: credential_source EcsContainer: "), err)
        jw.check(SECRET not in err, "secret leaked")
    finally:
        fake.config(fixed=None, sts_source_keys={}, sts_region=None)


CASES = [case_env, case_env_partial, case_nothing, case_profile_static, case_explicit_profile_beats_env,
         case_profile_bad_files, case_process,
         case_process_errors, case_process_fail_then_succeed, case_container, case_container_rules, case_imds_v2,
         case_imds_v1_fallback, case_imds_errors, case_web_identity, case_assume_role, case_credential_source]


def test(t):
    if not BUILD or not os.access(FETCH, os.X_OK):
        jw.skip("creds_fetch helper not built")
    c = jw.Checks()
    with FakeCredsServer() as fake:
        for case in CASES:
            with tempfile.TemporaryDirectory(prefix="jw-creds-") as tmp:
                c.case(case, tmp, fake)
    c.done()


if __name__ == "__main__":
    jw.main(test)
