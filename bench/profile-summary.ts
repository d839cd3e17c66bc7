// Summarises a `node --cpu-prof` profile of the benchmarks: for each named root function
// (e.g. WasmeshParsers#parseCore), where the time below it goes, by self time per function.
// Usage: node dist/bench/profile-summary.js <file.cpuprofile> <root function> [<root> …] [--top N]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionShare {
  name: string;
  selfMs: number;
  /** Share of the root's total time, in percent. */
  percent: number;
}

/** A frame's display name: function, file base name and line (Wasm frames have a wasm:// url). */
function frameName(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url ? f.url.slice(f.url.lastIndexOf('/') + 1) : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
}

/** Self time per function under every node whose function name is `root`. */
export function summarise(profile: Profile, root: string): { totalMs: number; functions: FunctionShare[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const under = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      if (byId.get(cur)!.callFrame.functionName === root) return true;
    }
    return false;
  };
  const totals = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    if (!under(id)) continue;
    const name = frameName(byId.get(id)!);
    totals.set(name, (totals.get(name) ?? 0) + us);
    total += us;
  }
  const functions = [...totals]
    .map(([name, us]) => ({ name, selfMs: us / 1000, percent: total ? (100 * us) / total : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: total / 1000, functions };
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 12;
  const [file, ...roots] = args;
  if (!file || roots.length === 0 || !Number.isInteger(top)) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> <root function> [<root> …] [--top N]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  for (const root of roots) {
    const { totalMs, functions } = summarise(profile, root);
    console.log(`\n${root}: ${totalMs.toFixed(0)} ms sampled`);
    for (const f of functions.slice(0, top)) console.log(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
