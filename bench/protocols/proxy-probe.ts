// What the proxy-measuring bench scripts (grpc-alloc.ts, tcp-conn-alloc.ts) share: a bench
// upstream started as a child, the proxy's CPU time from /proc, a sampled heap profile summed by
// function, and their command-line options.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerKind } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));

/** CPU seconds (user + system) of process `pid` so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** The whole number after `name` on the command line, else `fallback`. */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: a whole number ≥ 0, got "${process.argv[i + 1] ?? ''}"`);
  return v;
}

/** A bench upstream (servers.ts) as a child process, once it says its port. */
export async function startServer(kind: ServerKind): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(here, 'servers.js'), kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /WASMESH_PROTO_SERVER (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
  });
}

/** Bytes per function (self), start-up stacks left out as alloc-summary.cjs --no-startup does. */
export function summarize(file: string): { total: number; by: Map<string, number> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
  const startup = (n: ProfileNode): boolean => (n.callFrame.url === '' && n.callFrame.lineNumber === -1) || n.callFrame.url.endsWith('alloc-sampler.cjs') || n.callFrame.url.startsWith('node:inspector');
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode): void => {
    if (n.selfSize > 0) {
      const f = n.callFrame;
      const name = `${f.functionName || '(anon)'} ${f.url.replace(/.*\/dist\//, '')}:${f.lineNumber + 1}`;
      by.set(name, (by.get(name) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  for (const c of p.head.children) if (!startup(c)) walk(c);
  return { total, by };
}

/** Every value of a repeatable flag. */
export function repeated(name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.argv.length; i++) {
    if (process.argv[i] !== name) continue;
    const v = process.argv[i + 1];
    if (v === undefined || !v.startsWith('--')) throw new Error(`${name}: a node flag (--…), got "${v ?? ''}"`);
    out.push(v);
  }
  return out;
}
