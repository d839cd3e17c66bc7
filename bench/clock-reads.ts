// What a clock read costs on this machine, and what a per-turn clock (Envoy's approximate time:
// the first read of a turn reads the clock, a microtask drops it at the turn's end) would save —
// built by telem6 and taken out again when the paired end-to-end A/B showed no gain (docs/telemetry.md
// "Clock reads"): `node dist/bench/clock-reads.js`. First each clock in a hot loop (CPU ns per read, best of 7
// rounds of 5 M reads, the loop's own cost printed as `baseline`); then event-loop turns
// (setImmediate) that each read the wall clock k times, directly or through turnNow, CPU ns per
// turn (median of 5 rounds of 100,000 turns; the turn clock pays a promise reaction per turn).
// A request makes two such turns per proxy (the head read, the response read); count a running
// proxy's reads with `node --require=./scripts/clock-counter.cjs dist/bench/tracing-alloc.js start0`.

/** The per-turn clock measured against direct reads: Date.now() as of this event-loop turn. */
let fresh = false;
let wall = 0;
const endTurn = (): void => {
  fresh = false;
};
function turnNow(): number {
  if (fresh) return wall;
  fresh = true;
  queueMicrotask(endTurn);
  return (wall = Date.now());
}

const READS = 5_000_000;
const TURNS = 100_000;
let sinkValue = 0;

function perRead(name: string, read: () => number): void {
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    // CPU time, not wall time: on a loaded machine a round loses the CPU for whole time slices.
    const c0 = process.cpuUsage();
    let s = 0;
    for (let i = 0; i < READS; i++) s += read();
    const c = process.cpuUsage(c0);
    best = Math.min(best, ((c.user + c.system) * 1000) / READS);
    sinkValue += s;
  }
  console.log(`${name.padEnd(24)} ${best.toFixed(1)} ns per read`);
}

/** CPU ns per turn of `TURNS` setImmediate turns, each reading `read` k times. */
function turns(k: number, read: () => number): Promise<number> {
  const c0 = process.cpuUsage();
  return new Promise((resolve) => {
    let n = 0;
    const step = (): void => {
      for (let i = 0; i < k; i++) sinkValue += read();
      if (++n < TURNS) setImmediate(step);
      else {
        const c = process.cpuUsage(c0);
        resolve(((c.user + c.system) * 1000) / TURNS);
      }
    };
    setImmediate(step);
  });
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;

perRead('performance.now', () => performance.now());
perRead('Date.now', () => Date.now());
perRead('process.hrtime.bigint', () => Number(process.hrtime.bigint() & 1n));
perRead('process.hrtime()', () => process.hrtime()[1]);
let counter = 0;
perRead('baseline (a counter)', () => ++counter);

for (const k of [1, 2, 4, 6]) {
  const none: number[] = [];
  const direct: number[] = [];
  const cached: number[] = [];
  for (let r = 0; r < 5; r++) {
    none.push(await turns(k, () => 1));
    direct.push(await turns(k, () => Date.now()));
    cached.push(await turns(k, turnNow));
  }
  console.log(`${k} reads per turn: CPU ns per turn, no read ${median(none).toFixed(0)}, Date.now ${median(direct).toFixed(0)}, turnNow ${median(cached).toFixed(0)}`);
}
if (sinkValue === 42) console.log('');
