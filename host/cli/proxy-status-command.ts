// `wasmesh proxy-status`: istioctl's view of the mesh's sync — every proxy connected to the
// control plane, and for each resource type whether it is SYNCED, NOT SENT, STALE or NACKed —
// read from the control plane's monitoring port (/debug/syncz).
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import type { SyncEntry } from '../control-plane/monitoring-server.js';

export const PROXY_STATUS_SPEC: CommandSpec = {
  command: 'wasmesh proxy-status',
  summary: 'Lists every proxy connected to the control plane with the sync state of each resource type (SYNCED, NOT SENT, STALE, NACKED, IGNORED: asks for none), as `istioctl proxy-status` does.',
  flags: [
    { name: 'control-plane', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s monitoring address', defaultText: '127.0.0.1:15014' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<table|json>', help: 'output format', defaultText: 'table' },
  ],
};

const COLUMNS = ['cds', 'lds', 'eds', 'rds', 'wasmesh'] as const;

export async function proxyStatusCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(PROXY_STATUS_SPEC, argv);
  if (help) {
    io.out(formatHelp(PROXY_STATUS_SPEC));
    return 0;
  }
  const cmd = PROXY_STATUS_SPEC.command;
  const at = hostPortFlag(cmd, '--control-plane', (values['control-plane'] as string | undefined) ?? '127.0.0.1:15014');
  const output = (values.output as string | undefined) ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(cmd, `-o: expected table or json, got "${output}"`);
  let entries: SyncEntry[];
  try {
    const res = await fetch(`http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}/debug/syncz`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    entries = (await res.json()) as SyncEntry[];
  } catch (err) {
    io.err(`${cmd}: cannot read the control plane's sync status at ${at.host}:${at.port}: ${(err as Error).message}\n`);
    return 1;
  }
  if (output === 'json') {
    io.out(JSON.stringify(entries, null, 2) + '\n');
    return 0;
  }
  const rows: string[][] = [['NAME', 'KIND', ...COLUMNS.map((c) => c.toUpperCase()), 'CONTROL PLANE VERSION']];
  for (const e of entries.sort((a, b) => (a.proxy < b.proxy ? -1 : 1))) {
    const cell = (t: string): string => {
      const s = e.types[t];
      if (!s) return '-';
      return s.state === 'NACKED' && s.nack ? `NACKED (${s.nack.message})` : s.state;
    };
    rows.push([e.proxy, e.kind, ...COLUMNS.map(cell), String(e.controlPlaneVersion)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('') + '\n');
  return 0;
}
