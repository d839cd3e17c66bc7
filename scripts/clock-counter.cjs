// Preload (node --require) that counts the process's JS clock reads (Date.now, performance.now,
// process.hrtime, process.hrtime.bigint) and, for one read in CLOCK_COUNT_EVERY (default 61, a prime: no aliasing with a request's period of reads), the
// calling function and its caller: where a request's clock reads come from. Written as JSON on exit
// to $CLOCK_COUNT_OUT (else stderr): { counts, sites: [[kind + site, estimated reads], …] }.
// Reads made by node's own C++ (libuv's loop time) are not seen. Use: `node
// --require=./scripts/clock-counter.cjs dist/bench/tracing-alloc.js start0 20000` (docs/telemetry.md "Cost").
const fs = require('node:fs');
const every = Number(process.env.CLOCK_COUNT_EVERY || 61);
const counts = { 'Date.now': 0, 'performance.now': 0, 'process.hrtime': 0, 'process.hrtime.bigint': 0 };
const sites = new Map();
let n = 0;
const clean = (line) => line.trim().replace(/^at /, '').replace(/\(file:\/\/[^)]*\/dist\//, '(');
function record(kind) {
  counts[kind]++;
  if (++n % every !== 0) return;
  const frames = new Error().stack.split('\n').slice(3, 5).map(clean).join(' < ');
  const key = `${kind} ${frames}`;
  sites.set(key, (sites.get(key) || 0) + every);
}
const dateNow = Date.now;
Date.now = function now() { record('Date.now'); return dateNow(); };
const perfNow = performance.now.bind(performance);
performance.now = function now() { record('performance.now'); return perfNow(); };
const hrtime = process.hrtime;
const bigint = hrtime.bigint;
process.hrtime = function hr(prev) { record('process.hrtime'); return hrtime(prev); };
process.hrtime.bigint = function hrBigint() { record('process.hrtime.bigint'); return bigint(); };
process.on('exit', () => {
  const text = JSON.stringify({ counts, sites: [...sites].sort((a, b) => b[1] - a[1]) }, null, 1);
  if (process.env.CLOCK_COUNT_OUT) fs.writeFileSync(process.env.CLOCK_COUNT_OUT, text);
  else process.stderr.write(`${text}\n`);
});
