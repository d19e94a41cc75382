#!/usr/bin/python3
"""`jobwatchd get` against the fake service with SigV4 verification on, once per credential source of the
chain (environment, shared credentials file, credential_process, container endpoint, IMDSv2, web identity via
STS, assume role via STS): every run succeeds, and the fake saw the request signed with that source's key
(and its session token, for temporary credentials).  No secret ever appears in the output."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "fake"))
import jwtest as jw  # noqa: E402
from creds_server import FakeCredsServer  # noqa: E402

PROFILE = ("AKIDPROFILESTATIC001", "profileSecret/KeepOutOfLogs+000000000000")
PROCESS = ("AKIDFROMPROCESS00001", "processSecret/KeepOutOfLogs+00000000000", "processToken+KeepOut//==")
TEMP = ("ASIAFIXEDTEMPCREDS01", "tempSecret/KeepOutOfLogs+0000000000000000", "tempToken+KeepOutOfLogs//==")
BASE = ("AKIDBASEFORASSUMEROLE", "baseSecret/KeepOutOfLogs+000000000000000")
ACCEPTED = [jw.AKID, PROFILE[0], PROCESS[0], TEMP[0]]
SECRETS = [jw.SECRET, PROFILE[1], PROCESS[1], PROCESS[2], TEMP[1], TEMP[2], BASE[1], "webIdentityTokenKeepOut"]


def test(t):
    job = "cli/creds-1"
    fake = t.start_fake({"jobs": [{"id": job, "name": "creds", "steps": [{"at": 0, "status": "ACTIVE"}]}]},
                        verify_sigv4=True,
                        credentials=[(jw.AKID, jw.SECRET), PROFILE, PROCESS, TEMP])
    creds = FakeCredsServer()
    try:
        creds.config(fixed={"AccessKeyId": TEMP[0], "SecretAccessKey": TEMP[1], "Token": TEMP[2]},
                     container_token="Bearer container-auth-KeepOut",
                     sts_source_keys={BASE[0]: BASE[1]},
                     sts_web_identity_token="webIdentityTokenKeepOut")
        home = t.path("home")
        os.makedirs(home, exist_ok=True)
        script = t.write("cred-process.sh", "#!/bin/sh\necho '%s'\n" % json.dumps(
            {"Version": 1, "AccessKeyId": PROCESS[0], "SecretAccessKey": PROCESS[1], "SessionToken": PROCESS[2],
             "Expiration": "2099-01-01T00:00:00Z"}), 0o700)
        token_file = t.write("webid.token", "webIdentityTokenKeepOut", 0o600)
        base = {"HOME": home, "AWS_REGION": jw.REGION, "AWS_ENDPOINT_URL_CLEANROOMSML": fake.url,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_SHARED_CREDENTIALS_FILE": t.path("none-credentials"),
                "AWS_CONFIG_FILE": t.path("none-config")}
        cases = {
            "environment": ({"AWS_ACCESS_KEY_ID": jw.AKID, "AWS_SECRET_ACCESS_KEY": jw.SECRET}, jw.AKID, False),
            "shared credentials file": ({"AWS_SHARED_CREDENTIALS_FILE": t.write(
                "credentials", "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % PROFILE, 0o600)},
                PROFILE[0], False),
            "credential_process": ({"AWS_CONFIG_FILE": t.write(
                "config-process", "[default]\ncredential_process = %s\n" % script, 0o600)}, PROCESS[0], True),
            "container": ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": creds.url + "/container/creds",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer container-auth-KeepOut"}, TEMP[0], True),
            "imds": ({"AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": creds.url},
                     TEMP[0], True),
            "web identity": ({"AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
                              "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/jw",
                              "AWS_ENDPOINT_URL_STS": creds.url + "/"}, TEMP[0], True),
            "assume role": ({"AWS_CONFIG_FILE": t.write(
                "config-role", "[default]\nrole_arn = arn:aws:iam::111122223333:role/jw\nsource_profile = base\n",
                0o600), "AWS_SHARED_CREDENTIALS_FILE": t.write(
                "credentials-base", "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % BASE, 0o600),
                "AWS_ENDPOINT_URL_STS": creds.url + "/"}, TEMP[0], True),
        }
        env_clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        for name, (extra, akid, temporary) in cases.items():
            before = len(fake.requests("get"))
            env = dict(env_clean, **base)
            env.update(extra)
            r = jw.subprocess.run([jw.daemon_path(), "get", fake.arn(job)], env=env, capture_output=True,
                                  text=True, timeout=60, cwd=t.dir)
            jw.check(r.returncode == 0, "%s: get exited %d: %s" % (name, r.returncode, r.stderr))
            out = json.loads(r.stdout.splitlines()[0])
            jw.check_eq(out.get("audienceGenerationJobArn"), fake.arn(job), "%s: job in output" % name)
            jw.wait_until(lambda: len(fake.requests("get")) > before, 10, "%s: request logged" % name)
            req = fake.requests("get")[-1]
            auth = json.dumps(req.get("headers", {}))
            # The fake names the accepted credential by its index in the list it was given.
            jw.check_eq(req.get("credential"), ACCEPTED.index(akid), "%s: signed with %s" % (name, akid))
            jw.check_eq(req.get("status"), 200, "%s: fake accepted the signature" % name)
            if temporary:
                jw.check("x-amz-security-token" in auth.lower(), "%s: session token sent: %s" % (name, auth))
            for s in SECRETS:
                jw.check(s not in r.stdout + r.stderr, "%s: a secret leaked into the output" % name)
    finally:
        creds.stop()


jw.main(test)
