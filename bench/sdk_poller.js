// The SDK peer of `make bench`: the official AWS SDK for JavaScript v2 polling
// GetAudienceGenerationJob round-robin over the ARNs with CONCURRENCY calls in
// flight on a keep-alive agent of CONCURRENCY sockets, as fast as it can.
// Prints one JSON line: polls and CPU (process.cpuUsage) over the measured
// window after the warm-up, the RSS at the end and the peak RSS (VmHWM).
//
// node sdk_poller.js --endpoint URL --arns FILE [--concurrency 64] [--warmup 2]
//                    [--duration 5] [--ca FILE] [--rate N]
// --rate paces the calls at N per second in all (like jobwatchd's [aws] max_rps); default: as fast as it can.
// Credentials and region come from the environment, as for any SDK program.
"use strict";
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
const fs = require("fs");
const http = require("http");
const https = require("https");
const AWS = require("aws-sdk");

function opt(name, dflt) {
  const i = process.argv.indexOf("--" + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const endpoint = opt("endpoint");
const arns = fs.readFileSync(opt("arns"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
const concurrency = Number(opt("concurrency", "64"));
const warmupMs = Number(opt("warmup", "2")) * 1000;
const durationMs = Number(opt("duration", "5")) * 1000;
const caFile = opt("ca");
const tls = endpoint.startsWith("https:");
const rate = Number(opt("rate", "0"));

const agentOpts = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency };
if (caFile) agentOpts.ca = fs.readFileSync(caFile);
const agent = tls ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
const client = new AWS.CleanRoomsML({
  endpoint,
  sslEnabled: tls,
  maxRetries: 0,
  httpOptions: { agent, timeout: 15000 },
});

let ok = 0, bad = 0, next = 0, stop = false;
let due = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function pace() {
  if (rate <= 0) return;
  due = Math.max(due + 1000 / rate, Date.now() - 100);
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
}
async function worker() {
  while (!stop) {
    await pace();
    if (stop) break;
    const arn = arns[next++ % arns.length];
    try {
      const r = await client.getAudienceGenerationJob({ audienceGenerationJobArn: arn }).promise();
      // The same check the daemon makes: the answer must name the job asked for.
      if (r.audienceGenerationJobArn === arn && r.status) ok++;
      else bad++;
    } catch (e) {
      bad++;
      if (bad <= 3) console.error("sdk_poller: " + (e.code || "") + " " + e.message);
    }
  }
}

function hwmKiB() {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
}

const workers = [];
for (let i = 0; i < concurrency; i++) workers.push(worker());
let t0, c0, ok0, bad0;
setTimeout(() => {
  t0 = process.hrtime.bigint();
  c0 = process.cpuUsage();
  ok0 = ok;
  bad0 = bad;
  setTimeout(() => {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    const out = {
      polls: ok - ok0,
      failed: bad - bad0,
      seconds: secs,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      rss_kib: Math.round(process.memoryUsage().rss / 1024),
      hwm_kib: hwmKiB(),
      jobs: arns.length,
      concurrency,
      rate,
      sdk: AWS.VERSION,
      node: process.version,
    };
    stop = true;
    console.log(JSON.stringify(out));
    Promise.allSettled(workers).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  }, durationMs);
}, warmupMs);
