// What the demos print about their control plane, read back for the demo tests: the
// `npx wasmesh proxy-status …` line run in-process, its rows, and the monitoring port's metrics.
import { proxyStatusCommand } from '../../host/cli/proxy-status-command.js';
import { fakeIo } from './fake-io.js';

export interface ProxyStatusRow {
  name: string;
  cluster: string;
  /** By column: CDS, LDS, EDS, RDS, ECDS, WASMESH. */
  states: Record<string, string>;
  /** The CONFIG VERSION column. */
  version: string;
}

const STATE_COLUMNS = ['CDS', 'LDS', 'EDS', 'RDS', 'ECDS', 'WASMESH'];

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
  // istioctl's tabwriter pads every cell by 5: two spaces never occur inside one.
  const header = lines[0]!.split(/ {2,}/);
  return lines.slice(1).map((line) => {
    const cells = line.split(/ {2,}/);
    const at = (h: string): string => cells[header.indexOf(h)]!;
    const states: Record<string, string> = {};
    for (const h of STATE_COLUMNS) states[h] = at(h);
    return { name: at('NAME'), cluster: at('CLUSTER'), states, version: at('CONFIG VERSION') };
  });
}

/** One metric's value from the monitoring port's /metrics. */
export async function metric(monitoring: string, name: string): Promise<number> {
  const text = await (await fetch(`${monitoring}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}
