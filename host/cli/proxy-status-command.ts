// `wasmesh proxy-status`: istioctl's view of the mesh's sync — every proxy connected to the
// control plane, and for each resource type whether it is SYNCED, NOT SENT, STALE or NACKed —
// read from the control plane's monitoring port (/debug/syncz).
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { tabWrite } from './proxy-config/tab-writer.js';
import type { SyncEntry } from '../control-plane/monitoring-server.js';

export const PROXY_STATUS_SPEC: CommandSpec = {
  command: 'wasmesh proxy-status',
  summary: 'Lists every proxy connected to the control plane with the sync state of each resource type (SYNCED, NOT SENT, STALE, NACKED), in `istioctl proxy-status`\'s columns followed by wasmesh\'s own type and the config version.',
  flags: [
    { name: 'control-plane', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s monitoring address', defaultText: '127.0.0.1:15014' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<table|json>', help: 'output format', defaultText: 'table' },
  ],
};

// istioctl's columns (CDS LDS EDS RDS ECDS by their short type names), then wasmesh's own type.
const COLUMNS = [['CDS', 'cds'], ['LDS', 'lds'], ['EDS', 'eds'], ['RDS', 'rds'], ['ECDS', 'TypedExtensionConfig']] as const;

/**
 * istioctl's cell for one type: NOT SENT (nothing sent: also a type the proxy never asked
 * for), SYNCED, STALE (Never Acknowledged) when nothing was ever ACKed, STALE; wasmesh adds
 * NACKED with the proxy's reason.
 */
function cell(e: SyncEntry, type: string): string {
  const s = e.types[type];
  if (!s || s.state === 'IGNORED' || s.state === 'NOT SENT') return 'NOT SENT';
  if (s.state === 'NACKED') return s.nack ? `NACKED (${s.nack.message})` : 'NACKED';
  if (s.state === 'SYNCED') return 'SYNCED';
  return s.ackedNonce === null ? 'STALE (Never Acknowledged)' : 'STALE';
}

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
  // istioctl's table (its tabwriter, padding 5; sorted by cluster, then proxy), then wasmesh's
  // own type and the config version each proxy was last sent.
  const rows: string[][] = [['NAME', 'CLUSTER', ...COLUMNS.map(([h]) => h), 'ISTIOD', 'VERSION', 'WASMESH', 'CONFIG VERSION']];
  const sorted = [...entries].sort((a, b) => (a.cluster !== b.cluster ? (a.cluster < b.cluster ? -1 : 1) : a.proxy < b.proxy ? -1 : a.proxy > b.proxy ? 1 : 0));
  for (const e of sorted) {
    rows.push([e.proxy, e.cluster, ...COLUMNS.map(([, t]) => cell(e, t)), e.istiod, e.istioVersion, cell(e, 'wasmesh'), String(e.controlPlaneVersion)]);
  }
  io.out(tabWrite(rows, 5));
  return 0;
}
