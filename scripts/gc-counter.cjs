// Preload (node --require) that records every garbage collection of the process: its kind
// (scavenge, mark-sweep-compact, incremental marking, weak callbacks), when it started (epoch
// ms) and how long it took. Written as JSON on exit to $GC_COUNT_OUT (else /tmp/gc-<pid>.json),
// so that a driver can count the collections of its measuring window alone (start-up left out).
// Use: bench/protocols/grpc-alloc.ts --cpu (scavenges per 1000 calls), or by hand with
// `node --require=scripts/gc-counter.cjs …`.
const { PerformanceObserver, constants, performance } = require('node:perf_hooks');
const fs = require('node:fs');
const KIND = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};
const origin = performance.timeOrigin;
const events = [];
const record = (entries) => {
  for (const e of entries) events.push([KIND[e.detail.kind] || String(e.detail.kind), origin + e.startTime, e.duration]);
};
const obs = new PerformanceObserver((list) => record(list.getEntries()));
obs.observe({ entryTypes: ['gc'] });
process.on('exit', () => {
  record(obs.takeRecords()); // entries not yet delivered to the callback
  obs.disconnect();
  const out = process.env.GC_COUNT_OUT || `/tmp/gc-${process.pid}.json`;
  fs.writeFileSync(out, JSON.stringify(events));
});
