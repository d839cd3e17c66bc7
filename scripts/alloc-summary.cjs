// Bytes allocated per call by function from a profile of scripts/alloc-sampler.cjs:
//   node scripts/alloc-summary.cjs <profile> <calls> [top N]
// Self bytes per function (builtins such as subarray show as themselves: see their callers with
// a stack walk of the same JSON); the total includes the process's start-up, amortised.
const p = JSON.parse(require('fs').readFileSync(process.argv[2]));
const calls = Number(process.argv[3]); const N = Number(process.argv[4] || 25);
const by = new Map(); let total = 0;
const walk = (n, stack) => {
  const f = n.callFrame; const name = `${f.functionName || '(anon)'} ${(f.url||'').replace(/.*\/(dist|node_modules)\//,'$1/')}:${f.lineNumber+1}`;
  const self = n.selfSize; total += self;
  if (self) by.set(name, (by.get(name) || 0) + self);
  for (const c of n.children) walk(c);
};
walk(p.head);
console.log(`total ${(total/calls).toFixed(0)} B/call over ${calls} calls (${(total/1e6).toFixed(1)} MB)`);
for (const [k, v] of [...by].sort((a,b)=>b[1]-a[1]).slice(0,N)) console.log(`${(v/calls).toFixed(0).padStart(6)} B  ${k}`);
