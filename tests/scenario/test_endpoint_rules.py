#!/usr/bin/python3
"""Endpoints as the SDKs resolve them.

1. The shipped rule set (tests/data/cleanroomsml/endpoint-rule-set-1.json) is evaluated here by a small
   interpreter of the rules language (isSet, booleanEquals, stringEquals, not, getAttr, aws.partition,
   templates) with the partition table of the SDKs (partitions.json as shipped with
   @aws-sdk/util-endpoints 3.985: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f,
   aws-eusc), for regions of every partition x FIPS x dual-stack x custom endpoint; the daemon's resolver
   (helpers/endpoint_resolve) must give the same URL, or an error where the rules give one.
2. The configured-endpoint sources in the precedence of the AWS SDKs and Tools reference ("Service-specific
   endpoints"): [aws] endpoint > AWS_ENDPOINT_URL_CLEANROOMSML > AWS_ENDPOINT_URL > the profile's
   services section (cleanroomsml / endpoint_url) > the profile's endpoint_url > the rule set;
   AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls drop every configured one but
   [aws] endpoint; use_fips_endpoint / use_dualstack_endpoint in the profile, overridden by
   AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402

RULES = os.path.join(jw.SOURCE_DIR, "tests", "data", "cleanroomsml", "endpoint-rule-set-1.json")
# (id, regionRegex, dnsSuffix, dualStackDnsSuffix); every one supportsFIPS and supportsDualStack.
PARTITIONS = [
    ("aws", r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$", "amazonaws.com", "api.aws"),
    ("aws-cn", r"^cn\-\w+\-\d+$", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("aws-eusc", r"^eusc\-(de)\-\w+\-\d+$", "amazonaws.eu", "api.amazonwebservices.eu"),
    ("aws-iso", r"^us\-iso\-\w+\-\d+$", "c2s.ic.gov", "api.aws.ic.gov"),
    ("aws-iso-b", r"^us\-isob\-\w+\-\d+$", "sc2s.sgov.gov", "api.aws.scloud"),
    ("aws-iso-e", r"^eu\-isoe\-\w+\-\d+$", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
    ("aws-iso-f", r"^us\-isof\-\w+\-\d+$", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
    ("aws-us-gov", r"^us\-gov\-\w+\-\d+$", "amazonaws.com", "api.aws"),
]
REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-5", "il-central-1", "mx-central-1", "cn-north-1",
           "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-iso-west-1", "us-isob-east-1",
           "eu-isoe-west-1", "us-isof-south-1", "us-isof-east-1", "eusc-de-east-1", "xx-unknown-9"]


def partition(region):
    for pid, rx, dns, ds in PARTITIONS:
        if re.match(rx, region):
            return pid, dns, ds
    return PARTITIONS[0][0], PARTITIONS[0][2], PARTITIONS[0][3]


class RuleSet:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)

    def resolve(self, params):
        p = {k: v.get("default") for k, v in self.doc["parameters"].items()}
        p.update({k: v for k, v in params.items() if v is not None})
        return self._rules(self.doc["rules"], p)

    def _rules(self, rules, scope):
        for rule in rules:
            s = dict(scope)
            if not all(self._cond(c, s) for c in rule.get("conditions", [])):
                continue
            if rule["type"] == "tree":
                out = self._rules(rule["rules"], s)
                if out is not None:
                    return out
                jw.fail("a tree rule matched but none of its rules did")
            if rule["type"] == "error":
                return ("error", self._val(rule["error"], s))
            return ("url", self._val(rule["endpoint"]["url"], s))
        return None

    def _cond(self, c, s):
        v = self._call(c, s)
        if "assign" in c:
            if v is None:
                return False
            s[c["assign"]] = v
        return v is not None and v is not False

    def _call(self, f, s):
        args = [self._val(a, s) for a in f["argv"]]
        fn = f["fn"]
        if fn == "isSet":
            return args[0] is not None
        if fn == "not":
            return not args[0]
        if fn in ("booleanEquals", "stringEquals"):
            return args[0] == args[1]
        if fn == "getAttr":
            return args[0].get(args[1])
        if fn == "aws.partition":
            pid, dns, ds = partition(args[0])
            return {"name": pid, "dnsSuffix": dns, "dualStackDnsSuffix": ds, "supportsFIPS": True,
                    "supportsDualStack": True}
        jw.fail("rules function %s not handled by this interpreter" % fn)

    def _val(self, v, s):
        if isinstance(v, dict) and "ref" in v:
            return s.get(v["ref"])
        if isinstance(v, dict) and "fn" in v:
            return self._call(v, s)
        if isinstance(v, str):
            return re.sub(r"\{([A-Za-z]+)(?:#([A-Za-z]+))?\}",
                          lambda m: str(s[m.group(1)][m.group(2)] if m.group(2) else s[m.group(1)]), v)
        return v


def test(t):
    c = jw.Checks()
    helper = os.path.join(jw.BUILD_DIR, "helpers", "endpoint_resolve")
    rules = RuleSet(RULES)
    home = t.path("home")
    os.makedirs(home, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env["HOME"] = home

    def daemon(args, env=None, config=None):
        e = dict(base_env)
        if config is not None:
            e["AWS_CONFIG_FILE"] = t.write("aws-config-%d" % len(os.listdir(t.dir)), config)
        e.update(env or {})
        r = subprocess.run([helper] + args, env=e, capture_output=True, text=True, timeout=30)
        kind, _, rest = r.stdout.strip().partition(" ")
        return (kind, rest.split(" ")[0] if kind == "url" else rest)

    # --- 1. the rule set ------------------------------------------------------------------------------------
    n = 0
    for region in REGIONS:
        for fips in (False, True):
            for ds in (False, True):
                for endpoint in (None, "https://vpce-0abc.cleanrooms-ml.example.com:8443/base"):
                    want = rules.resolve({"Region": region, "UseFIPS": fips, "UseDualStack": ds,
                                          "Endpoint": endpoint})
                    args = ["--region", region] + (["--fips"] if fips else []) + (["--dualstack"] if ds else [])
                    if endpoint:
                        args += ["--endpoint", endpoint]
                    got = daemon(args)
                    what = "%s fips=%s dualstack=%s endpoint=%s" % (region, fips, ds, endpoint)
                    if want[0] == "url":
                        c.eq(got, want, what)
                    else:
                        c.eq(got[0], "error", "%s: the rules give %r" % (what, want[1]))
                    n += 1
    print("%d rule-set cases compared" % n)
    c.eq(rules.resolve({"Region": "us-isof-south-1", "UseDualStack": True}),
         ("url", "https://cleanrooms-ml.us-isof-south-1.api.aws.hci.ic.gov"), "the interpreter itself (iso-f)")

    # --- 2. the configured-endpoint sources --------------------------------------------------------------
    cfg = ("[default]\nregion = us-east-1\nendpoint_url = https://profile-global.example\n"
           "services = my-services\n"
           "[services my-services]\ncleanroomsml =\n  endpoint_url = https://services-section.example\n"
           "s3 =\n  endpoint_url = https://s3-only.example\n"
           "[profile onlyglobal]\nregion = eu-west-1\nendpoint_url = https://profile-global.example\n"
           "[profile otherservice]\nregion = eu-west-1\nservices = s3-only\n"
           "[services s3-only]\ns3 =\n  endpoint_url = https://s3-only.example\n"
           "[profile ignoring]\nregion = eu-west-1\nendpoint_url = https://profile-global.example\n"
           "ignore_configured_endpoint_urls = true\n"
           "[profile fips]\nregion = us-gov-west-1\nuse_fips_endpoint = true\n"
           "[profile dualstack]\nregion = us-iso-east-1\nuse_dualstack_endpoint = true\n")
    svc_env = {"AWS_ENDPOINT_URL_CLEANROOMSML": "https://env-service.example"}
    glob_env = {"AWS_ENDPOINT_URL": "https://env-global.example"}
    cases = [
        ("[aws] endpoint wins", ["--endpoint", "https://aws-section.example"], dict(svc_env, **glob_env),
         "https://aws-section.example"),
        ("service env over global env", [], dict(svc_env, **glob_env), "https://env-service.example"),
        ("global env over the config file", [], glob_env, "https://env-global.example"),
        ("services section over profile endpoint_url", [], {}, "https://services-section.example"),
        ("profile endpoint_url", ["--profile", "onlyglobal"], {}, "https://profile-global.example"),
        ("AWS_PROFILE picks the profile", [], {"AWS_PROFILE": "onlyglobal"}, "https://profile-global.example"),
        ("another service's entry is not ours", ["--profile", "otherservice"], {},
         "https://cleanrooms-ml.eu-west-1.amazonaws.com"),
        ("ignore_configured_endpoint_urls in the profile", ["--profile", "ignoring"], glob_env,
         "https://cleanrooms-ml.eu-west-1.amazonaws.com"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", [], dict(svc_env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="true"),
         "https://cleanrooms-ml.us-east-1.amazonaws.com"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false over the profile's true", ["--profile", "ignoring"],
         {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"}, "https://profile-global.example"),
        ("ignoring does not touch [aws] endpoint", ["--endpoint", "https://aws-section.example"],
         {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "https://aws-section.example"),
        ("use_fips_endpoint in the profile", ["--profile", "fips"], {},
         "https://cleanrooms-ml-fips.us-gov-west-1.amazonaws.com"),
        ("AWS_USE_FIPS_ENDPOINT=false over the profile's true", ["--profile", "fips"],
         {"AWS_USE_FIPS_ENDPOINT": "false"}, "https://cleanrooms-ml.us-gov-west-1.amazonaws.com"),
        ("use_dualstack_endpoint in the profile", ["--profile", "dualstack"], {},
         "https://cleanrooms-ml.us-iso-east-1.api.aws.ic.gov"),
        ("AWS_USE_DUALSTACK_ENDPOINT", ["--profile", "onlyglobal"],
         {"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
         "https://cleanrooms-ml.eu-west-1.api.aws"),
    ]
    for what, args, env, want in cases:
        c.eq(daemon(args, env, cfg), ("url", want), what)
    # A configured endpoint with FIPS on is the rule set's error, naming where the endpoint came from.
    got = daemon(["--profile", "fips"], {"AWS_ENDPOINT_URL": "https://env-global.example"}, cfg)
    c.ok(got[0] == "error" and "FIPS" in got[1] and "AWS_ENDPOINT_URL" in got[1], "FIPS + endpoint: %r" % (got,))
    got = daemon([], {"AWS_USE_FIPS_ENDPOINT": "true"}, cfg)
    c.ok(got[0] == "error" and "services" in got[1], "FIPS + services section endpoint: %r" % (got,))
    c.done()


jw.main(test)
