// Preload (node --require) for allocation per request: V8's sampling heap profiler with objects
// later collected by GC counted too (node --heap-prof keeps only what is still live, which says
// little about per-request garbage). Writes the profile on exit to $HEAP_PROF_OUT (else
// /tmp/heap-<pid>.heapprofile); $HEAP_SAMPLE_INTERVAL bytes between samples (1024).
// Use: bench:protocols … --wasmesh-node-flag --require=scripts/alloc-sampler.cjs, then
// node scripts/alloc-summary.cjs <profile> <calls>. The inspector session is this thread's own:
// its messages are answered synchronously, so the exit handler can stop and write.
const inspector = require('node:inspector');
const fs = require('node:fs');
const s = new inspector.Session(); s.connect();
const interval = Number(process.env.HEAP_SAMPLE_INTERVAL || 1024);
s.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
process.on('exit', () => {
  s.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) { fs.writeSync(2, String(err)); return; }
    const out = process.env.HEAP_PROF_OUT || `/tmp/heap-${process.pid}.heapprofile`;
    fs.writeFileSync(out, JSON.stringify(r.profile));
  });
});
