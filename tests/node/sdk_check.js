#!/usr/bin/env node
// Fidelity check: the official AWS SDK for JavaScript v2 (aws-sdk, AWS.CleanRoomsML) against the fake.
// Usage: NODE_PATH=<dir>/node_modules node sdk_check.js CONFIG.json
// CONFIG: {endpoint, region, accessKeyId, secretAccessKey, temp: {accessKeyId, secretAccessKey, sessionToken},
//          getArn, expect: {name, status, statusDetails, metrics, collaborationId, createTime, updateTime},
//          listCollaborationId, listCount, pageSize, faultArn}
// Prints "ok ..." / "not ok ..." lines, then a JSON summary line; exits 1 if any check failed.
'use strict';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const fs = require('fs');
const AWS = require('aws-sdk');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { ok, eq, control, expectError, finish, run } = require('./sdk_lib')(cfg);

function client(creds) {
  return new AWS.CleanRoomsML({ endpoint: cfg.endpoint, region: cfg.region, maxRetries: 0,
    credentials: new AWS.Credentials(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken),
    httpOptions: { timeout: 10000 } });
}

async function main() {
  const crml = client(cfg);
  // --- Get: every field parsed, timestamps as Date
  const req = crml.getAudienceGenerationJob({ audienceGenerationJobArn: cfg.getArn });
  const job = await req.promise();
  const x = cfg.expect;
  eq(job.audienceGenerationJobArn, cfg.getArn, 'get arn');
  eq(job.name, x.name, 'get name');
  eq(job.status, x.status, 'get status');
  eq(job.statusDetails, x.statusDetails, 'get statusDetails');
  eq(job.metrics, x.metrics, 'get metrics (relevanceMetrics, audienceSize, score, recallMetric)');
  eq(job.collaborationId, x.collaborationId, 'get collaborationId');
  ok(job.createTime instanceof Date && job.updateTime instanceof Date, 'createTime/updateTime are Date objects');
  eq(job.createTime.getTime(), Date.parse(x.createTime), 'createTime value');
  eq(job.updateTime.getTime(), Date.parse(x.updateTime), 'updateTime value (milliseconds kept)');
  for (const k of ['description', 'configuredAudienceModelArn', 'startedBy', 'protectedQueryIdentifier']) {
    ok(typeof job[k] === 'string' && job[k].length > 0, `get ${k} string`);
  }
  // A seed is an S3 data source or SQL, never both (the fake's default is S3).
  ok(job.seedAudience && job.seedAudience.dataSource && typeof job.seedAudience.dataSource.s3Uri === 'string' &&
     typeof job.seedAudience.roleArn === 'string' && !job.seedAudience.sqlParameters, 'get seedAudience');
  ok(typeof job.includeSeedInOutput === 'boolean', 'get includeSeedInOutput boolean');
  ok(job.tags && Object.keys(job.tags).length > 0, 'get tags map');
  ok(/^[0-9a-f-]{36}$/.test(req.response.requestId || ''), 'x-amzn-requestid surfaces as requestId');

  // --- List: manual nextToken loop
  const seen = [];
  let token, pages = 0;
  do {
    const p = await crml.listAudienceGenerationJobs({ collaborationId: cfg.listCollaborationId,
      maxResults: cfg.pageSize, nextToken: token }).promise();
    pages++;
    ok(p.audienceGenerationJobs.length <= cfg.pageSize, `page ${pages} size <= ${cfg.pageSize}`);
    for (const s of p.audienceGenerationJobs) {
      seen.push(s.audienceGenerationJobArn);
      if (!(s.createTime instanceof Date) || typeof s.status !== 'string') ok(false, 'summary parsed: ' + JSON.stringify(s));
    }
    token = p.nextToken;
  } while (token && pages < 100);
  eq(seen.length, cfg.listCount, 'list manual loop collects every job');
  eq(new Set(seen).size, cfg.listCount, 'list manual loop: no duplicates');
  eq(pages, Math.ceil(cfg.listCount / cfg.pageSize), 'list page count');

  // --- List: SDK eachPage
  const viaEach = await new Promise((resolve, reject) => {
    const all = [];
    crml.listAudienceGenerationJobs({ collaborationId: cfg.listCollaborationId, maxResults: cfg.pageSize })
      .eachPage((err, data) => {
        if (err) { reject(err); return false; }
        if (data === null) { resolve(all); return false; }
        for (const s of data.audienceGenerationJobs) all.push(s.audienceGenerationJobArn);
        return true;
      });
  });
  eq(viaEach.slice().sort(), seen.slice().sort(), 'eachPage collects the same jobs');

  // --- errors: each kind surfaces with the right code and statusCode
  const kinds = [['validation', 'ValidationException', 400], ['access_denied', 'AccessDeniedException', 403],
    ['not_found', 'ResourceNotFoundException', 404], ['throttle', 'ThrottlingException', 429],
    ['expired_token', 'ExpiredTokenException', 403], ['500', 'InternalServiceException', 500], ['503', 'UnknownError', 503]];
  for (const [kind, code, status] of kinds) {
    await control('POST', '/faults', { kind, job: cfg.faultArn, count: 1 });
    const e = await expectError(() => crml.getAudienceGenerationJob({ audienceGenerationJobArn: cfg.faultArn }).promise(),
      code, status, `fault ${kind}`);
    if (e && status < 500) ok(typeof e.message === 'string' && e.message.length > 0, `fault ${kind} message`);
  }
  await control('POST', '/faults', { kind: 'throttle', op: 'list', count: 1 });
  await expectError(() => crml.listAudienceGenerationJobs({ maxResults: 5 }).promise(), 'ThrottlingException', 429,
    'list throttled');
  await expectError(() => crml.getAudienceGenerationJob({ audienceGenerationJobArn: cfg.missingArn }).promise(),
    'ResourceNotFoundException', 404, 'unknown job');
  const back = await crml.getAudienceGenerationJob({ audienceGenerationJobArn: cfg.faultArn }).promise();
  eq(back.audienceGenerationJobArn, cfg.faultArn, 'fault job healthy after the faults');

  // --- temporary credentials (x-amz-security-token) are accepted; a wrong secret is rejected by the verifier
  const t = await client(cfg.temp).getAudienceGenerationJob({ audienceGenerationJobArn: cfg.getArn }).promise();
  eq(t.audienceGenerationJobArn, cfg.getArn, 'session-token credentials');
  await expectError(() => client({ accessKeyId: cfg.accessKeyId, secretAccessKey: 'not-the-secret' })
    .getAudienceGenerationJob({ audienceGenerationJobArn: cfg.getArn }).promise(),
  'InvalidSignatureException', 403, 'wrong secret rejected by the fake verifier');

  finish({ pages, listed: seen.length });
}

run(main);
