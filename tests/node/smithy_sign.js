// Signs request vectors with the independent @smithy/signature-v4 (the
// signer inside the AWS SDK for JavaScript v3) and prints its intermediate
// results, for tests/scenario/test_sigv4_crosscheck.py.
//
// stdin:  JSON array of {method, host, path (wire form), query (object of
//         DECODED values), headers (object), body, time (epoch s), region,
//         service, accessKeyId, secretAccessKey, sessionToken, applyChecksum}
// stdout: JSON array of {canonicalRequest, stringToSign, signature,
//         authorization, headers}
// Modules are found through NODE_PATH (the test installs them in the build dir).
"use strict";
const { SignatureV4 } = require("@smithy/signature-v4");
const { Sha256 } = require("@aws-crypto/sha256-js");

async function signOne(v) {
  const credentials = { accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey };
  if (v.sessionToken) credentials.sessionToken = v.sessionToken;
  const signer = new SignatureV4({
    service: v.service, region: v.region, sha256: Sha256, credentials,
    applyChecksum: Boolean(v.applyChecksum), // uriEscapePath stays at its default, true
  });
  const seen = {};
  // Capture the internals the way testinfra.md §6 sign.js does.
  const createCanonicalRequest = signer.createCanonicalRequest.bind(signer);
  signer.createCanonicalRequest = (...a) => (seen.canonicalRequest = createCanonicalRequest(...a));
  const createStringToSign = signer.createStringToSign.bind(signer);
  signer.createStringToSign = async (...a) => (seen.stringToSign = await createStringToSign(...a));

  const req = {
    method: v.method, protocol: "https:", hostname: v.host.split(":")[0], path: v.path,
    query: v.query || {}, headers: Object.assign({ host: v.host }, v.headers || {}),
  };
  if (v.body !== undefined && v.body !== null) req.body = v.body;
  const signed = await signer.sign(req, { signingDate: new Date(v.time * 1000) });
  const authorization = signed.headers.authorization;
  const m = /Signature=([0-9a-f]{64})$/.exec(authorization);
  return { canonicalRequest: seen.canonicalRequest, stringToSign: seen.stringToSign,
           signature: m ? m[1] : null, authorization, headers: signed.headers };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", async () => {
  try {
    const out = [];
    for (const v of JSON.parse(input)) out.push(await signOne(v));
    process.stdout.write(JSON.stringify(out) + "\n");
  } catch (e) {
    process.stderr.write("smithy_sign: " + (e && e.stack ? e.stack : e) + "\n");
    process.exit(1);
  }
});
