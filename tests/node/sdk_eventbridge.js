#!/usr/bin/env node
// Fidelity check: the official AWS SDK for JavaScript v2 (aws-sdk, AWS.EventBridge.putEvents) against the
// fake's PutEvents.  Usage: NODE_PATH=<dir>/node_modules node sdk_eventbridge.js CONFIG.json
// CONFIG: {endpoint, region, accessKeyId, secretAccessKey, temp: {accessKeyId, secretAccessKey, sessionToken},
//          jobArn}
// Prints "ok ..." / "not ok ..." lines; exits 1 if any check failed.
'use strict';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const fs = require('fs');
const AWS = require('aws-sdk');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { ok, eq, control, expectError, finish, run } = require('./sdk_lib')(cfg);

function client(creds) {
  return new AWS.EventBridge({ endpoint: cfg.endpoint, region: cfg.region, maxRetries: 0,
    credentials: new AWS.Credentials(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken),
    httpOptions: { timeout: 10000 } });
}

function entry(i, extra) {
  return Object.assign({ Source: 'jobwatchd', DetailType: 'Audience Generation Job Status Change',
    Detail: JSON.stringify({ type: 'job.status_changed', jobArn: cfg.jobArn, status: 'ACTIVE', n: i }),
    Resources: [cfg.jobArn], Time: new Date(1705323605042 + i * 1000), EventBusName: 'jobs-bus' }, extra || {});
}

async function main() {
  const eb = client(cfg);
  await control('DELETE', '/eventbridge/events');
  // --- every entry accepted: the answer as the SDK parses it
  let r = await eb.putEvents({ Entries: [entry(0), entry(1), entry(2)] }).promise();
  eq(r.FailedEntryCount, 0, 'FailedEntryCount 0');
  ok(Array.isArray(r.Entries) && r.Entries.length === 3 && r.Entries.every((e) => typeof e.EventId === 'string'),
     'one EventId per entry');
  let bus = (await control('GET', '/eventbridge/events')).events;
  eq(bus.length, 3, 'the fake recorded the three entries');
  eq(bus.map((e) => e.Detail.n), [0, 1, 2], 'in request order, Detail parsed');
  eq(bus[0].Resources, [cfg.jobArn], 'Resources as sent');
  ok(typeof bus[0].Time === 'number' && Math.abs(bus[0].Time - 1705323605.042) < 0.001,
     `Time as the SDK serializes it: epoch seconds (${bus[0].Time})`);
  eq(bus[0].EventBusName, 'jobs-bus', 'EventBusName');
  eq(r.Entries.map((e) => e.EventId), bus.map((e) => e.EventId), 'the EventIds are the recorded ones');

  // --- every 2nd entry refused: FailedEntryCount and the codes where the SDK looks for them
  await control('POST', '/eventbridge', { refuseEvery: 2, errorCode: 'ThrottlingException',
    errorMessage: 'Rate exceeded' });
  r = await eb.putEvents({ Entries: [entry(3), entry(4), entry(5), entry(6)] }).promise();
  eq(r.FailedEntryCount, 2, 'FailedEntryCount counts the refused entries');
  eq(r.Entries.map((e) => e.ErrorCode || null), [null, 'ThrottlingException', null, 'ThrottlingException'],
     'refused entries carry ErrorCode, in request order');
  ok(r.Entries[1].ErrorMessage === 'Rate exceeded' && !r.Entries[1].EventId, 'a refused entry has no EventId');
  await control('POST', '/eventbridge', { refuseEvery: 0 });

  // --- per-entry validation as the service does it
  r = await eb.putEvents({ Entries: [entry(7, { Source: 'aws.events' }), entry(8, { Detail: '[1, 2]' }),
    entry(9)] }).promise();
  eq(r.Entries.map((e) => e.ErrorCode || null), ['NotAuthorizedForSourceException', 'MalformedDetail', null],
     'a reserved source and a Detail that is no JSON object are refused entry by entry');

  // --- request errors surface with their code and status
  const many = [];
  for (let i = 0; i < 11; i++) many.push(entry(10 + i));
  await expectError(() => eb.putEvents({ Entries: many }).promise(), 'ValidationException', 400,
    'more than 10 entries: ValidationException');
  const fid = (await control('POST', '/faults', { kind: 'throttle', op: 'putevents', count: 1 })).ids[0];
  await expectError(() => eb.putEvents({ Entries: [entry(30)] }).promise(), 'ThrottlingException', 400,
    'throttled request: ThrottlingException');
  await control('DELETE', '/faults/' + fid);

  // --- a session token is signed and verified
  const tmp = client(cfg.temp);
  r = await tmp.putEvents({ Entries: [entry(31)] }).promise();
  eq(r.FailedEntryCount, 0, 'temporary credentials: accepted');

  // --- a wrong secret fails the signature check
  await expectError(() => client({ accessKeyId: cfg.accessKeyId, secretAccessKey: 'wrong' })
    .putEvents({ Entries: [entry(32)] }).promise(), 'InvalidSignatureException', 403, 'wrong secret rejected');

  finish();
}

run(main);
