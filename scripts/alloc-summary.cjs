// Bytes allocated per call by function from a profile of scripts/alloc-sampler.cjs:
//   node scripts/alloc-summary.cjs <profile> <calls> [top N] [--no-startup]
// --no-startup leaves out what the process's start-up allocated (stacks rooted at the top-level
// evaluation of its modules and at this sampler): at a low call rate that part is not negligible.
// Self bytes per function (builtins such as subarray show as themselves: see their callers with
// a stack walk of the same JSON); the total includes the process's start-up, amortised.
const p = JSON.parse(require('fs').readFileSync(process.argv[2]));
const args = process.argv.slice(2).filter((a) => a !== '--no-startup');
const noStartup = args.length !== process.argv.length - 2;
const calls = Number(args[1]); const N = Number(args[2] || 25);
const startup = (n) => (n.callFrame.url === '' && n.callFrame.lineNumber === -1) || n.callFrame.url.endsWith('alloc-sampler.cjs') || n.callFrame.url.startsWith('node:inspector');
const by = new Map(); let total = 0;
const walk = (n, stack) => {
  const f = n.callFrame; const name = `${f.functionName || '(anon)'} ${(f.url||'').replace(/.*\/(dist|node_modules)\//,'$1/')}:${f.lineNumber+1}`;
  const self = n.selfSize; total += self;
  if (self) by.set(name, (by.get(name) || 0) + self);
  for (const c of n.children) walk(c);
};
if (noStartup) { for (const c of p.head.children) if (!startup(c)) walk(c); } else walk(p.head);
console.log(`total ${(total/calls).toFixed(0)} B/call over ${calls} calls (${(total/1e6).toFixed(1)} MB)`);
for (const [k, v] of [...by].sort((a,b)=>b[1]-a[1]).slice(0,N)) console.log(`${(v/calls).toFixed(0).padStart(6)} B  ${k}`);
