// What the SDK fidelity scripts share: TAP-like checks, the fake's unsigned control API, and an expected
// error.  Usage: const t = require('./sdk_lib')(cfg); t.ok(...); await t.control('GET', '/jobs'); t.finish(extra)
'use strict';
const http = require('http');

module.exports = function sdkLib(cfg) {
  let passed = 0;
  const failed = [];
  function ok(cond, msg) {
    if (cond) { passed++; console.log('ok - ' + msg); } else { failed.push(msg); console.log('not ok - ' + msg); }
  }
  function eq(got, want, msg) {
    const g = JSON.stringify(got), w = JSON.stringify(want);
    ok(g === w, `${msg}: got ${g}, want ${w}`);
  }
  function control(method, path, body) {
    return new Promise((resolve, reject) => {
      const u = new URL(cfg.endpoint + '/_fake' + path);
      const data = body ? Buffer.from(JSON.stringify(body)) : null;
      const req = http.request({ method, hostname: u.hostname, port: u.port, path: u.pathname,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
        let b = '';
        res.on('data', (c) => { b += c; });
        res.on('end', () => (res.statusCode === 200 ? resolve(b ? JSON.parse(b) : null)
          : reject(new Error(`control ${method} ${path}: ${res.statusCode} ${b}`))));
      });
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }
  async function expectError(promiseFn, code, statusCode, msg) {
    try {
      await promiseFn();
      ok(false, `${msg}: expected ${code}/${statusCode}, got success`);
    } catch (e) {
      eq([e.code, e.statusCode], [code, statusCode], msg);
      return e;
    }
    return null;
  }
  // Prints the summary line and exits 1 when a check failed.
  function finish(extra) {
    console.log(JSON.stringify(Object.assign({ passed, failed: failed.length }, extra || {})));
    process.exit(failed.length ? 1 : 0);
  }
  function run(main) {
    main().catch((e) => { console.log('not ok - unexpected exception: ' + (e && e.stack || e)); process.exit(1); });
  }
  return { ok, eq, control, expectError, finish, run };
};
