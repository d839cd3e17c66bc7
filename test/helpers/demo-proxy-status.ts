// What the demos print about their control plane, read back for the demo tests: the
// `npx wasmesh proxy-status …` line run in-process, its rows, and the monitoring port's metrics.
import { proxyStatusCommand } from '../../host/cli/proxy-status-command.js';
import { fakeIo } from './fake-io.js';

export interface ProxyStatusRow {
  name: string;
  kind: string;
  /** By column: CDS, LDS, EDS, RDS, WASMESH. */
  states: Record<string, string>;
  version: string;
}

/** The control plane's monitoring URL and xDS port, from a demo's printout. */
export function controlPlaneIn(stdout: string): { monitoring: string; xdsPort: number; proxyStatusArgs: string[] } {
  const m = /control plane +xDS 127\.0\.0\.1:(\d+) +monitoring (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout);
  if (!m) throw new Error(`no control plane line in the demo's printout:\n${stdout}`);
  const ps = /npx wasmesh proxy-status(.*)\n/.exec(stdout);
  if (!ps) throw new Error(`no proxy-status line in the demo's printout:\n${stdout}`);
  return { monitoring: m[2]!, xdsPort: Number(m[1]), proxyStatusArgs: ps[1]!.trim().split(/\s+/).filter((a) => a !== '') };
}

/** Runs the printed `wasmesh proxy-status` and parses its table. */
export async function proxyStatus(stdout: string): Promise<ProxyStatusRow[]> {
  const io = fakeIo();
  const code = await proxyStatusCommand(controlPlaneIn(stdout).proxyStatusArgs, io);
  if (code !== 0) throw new Error(`proxy-status exited ${code}: ${io.stderr}`);
  const lines = io.stdout.trimEnd().split('\n');
  const header = lines[0]!.split(/ {3,}/);
  return lines.slice(1).map((line) => {
    const cells = line.split(/ {3,}/);
    const states: Record<string, string> = {};
    header.slice(2, -1).forEach((h, i) => (states[h] = cells[i + 2]!));
    return { name: cells[0]!, kind: cells[1]!, states, version: cells[cells.length - 1]! };
  });
}

/** One metric's value from the monitoring port's /metrics. */
export async function metric(monitoring: string, name: string): Promise<number> {
  const text = await (await fetch(`${monitoring}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}
