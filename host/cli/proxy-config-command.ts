// `wasmesh proxy-config secret <admin host:port>`: istioctl's view of the certificates a proxy
// uses — its workload certificate chain (`default`) and each root of its trust bundle (`ROOTCA`)
// with serial, validity and status — read from the proxy's admin API (/certs).
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import type { CertificateDetails, CertsJson } from '../admin/certs-json.js';

export const PROXY_CONFIG_SPEC: CommandSpec = {
  command: 'wasmesh proxy-config',
  summary:
    'Shows what a running wasmesh proxy uses, as `istioctl proxy-config` does. `secret <admin host:port>`: the workload ' +
    'certificate chain (default) and the trust bundle\'s roots (ROOTCA) with serial number (decimal, as istioctl), validity and status, from its /certs.',
  flags: [{ name: 'output', short: 'o', kind: 'string', valueName: '<table|json>', help: 'table, or json: the proxy\'s /certs (Envoy\'s shape) as it is', defaultText: 'table' }],
  epilog: ['Usage: wasmesh proxy-config secret <admin host:port> [-o table|json]', '', 'Example:', '  wasmesh proxy-config secret 127.0.0.1:15000'],
};

const KINDS = ['secret'] as const;

/** One row of istioctl's secret table. */
export interface SecretRow {
  readonly resourceName: 'default' | 'ROOTCA';
  readonly type: 'Cert Chain' | 'CA';
  readonly status: 'ACTIVE';
  readonly validCert: boolean;
  /** Decimal, as istioctl prints it. */
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly notBefore: string;
}

/** The rows for /certs: the leaf of each certificate chain as `default`, each root as `ROOTCA`. */
export function secretRows(certs: CertsJson, now = new Date()): SecretRow[] {
  const row = (resourceName: SecretRow['resourceName'], type: SecretRow['type'], d: CertificateDetails): SecretRow => ({
    resourceName,
    type,
    status: 'ACTIVE',
    validCert: Date.parse(d.valid_from) <= now.getTime() && now.getTime() < Date.parse(d.expiration_time),
    serialNumber: BigInt(`0x${d.serial_number}`).toString(10),
    notAfter: d.expiration_time,
    notBefore: d.valid_from,
  });
  return certs.certificates.flatMap((c) => [
    ...c.cert_chain.slice(0, 1).map((d) => row('default', 'Cert Chain', d)),
    ...c.ca_cert.map((d) => row('ROOTCA', 'CA', d)),
  ]);
}

export function renderSecretTable(rows: readonly SecretRow[]): string {
  const table = [['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'],
    ...rows.map((r) => [r.resourceName, r.type, r.status, String(r.validCert), r.serialNumber, r.notAfter, r.notBefore])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 5))).join('') + '\n').join('');
}

export async function proxyConfigCommand(argv: string[], io: CliIo): Promise<number> {
  const cmd = PROXY_CONFIG_SPEC.command;
  // Words that are neither a flag nor the value of -o are the kind and the address, in order.
  const positional: string[] = [];
  const flags: string[] = [];
  argv.forEach((a, i) => (!a.startsWith('-') && !(i > 0 && (argv[i - 1] === '-o' || argv[i - 1] === '--output')) ? positional : flags).push(a));
  const { help, values } = parseArgs(PROXY_CONFIG_SPEC, flags);
  if (help) {
    io.out(formatHelp(PROXY_CONFIG_SPEC));
    return 0;
  }
  const [kind, address, extra] = positional;
  if (kind === undefined) throw new UsageError(cmd, `a kind is required: ${KINDS.join(', ')}`);
  if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(cmd, `unknown kind "${kind}"; known: ${KINDS.join(', ')}`);
  if (address === undefined) throw new UsageError(cmd, `${kind}: the proxy's admin address is required (<host:port>, e.g. 127.0.0.1:15000)`);
  if (extra !== undefined) throw new UsageError(cmd, `unexpected argument "${extra}"`);
  const at = hostPortFlag(cmd, `${kind} <admin host:port>`, address);
  if (at.port === 0) throw new UsageError(cmd, `${kind}: the admin port cannot be 0`);
  const output = (values.output as string | undefined) ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(cmd, `-o: expected table or json, got "${output}"`);
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  let certs: CertsJson;
  try {
    const res = await fetch(`http://${where}/certs`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
    certs = (await res.json()) as CertsJson;
    if (!Array.isArray(certs?.certificates)) throw new Error('the answer is not Envoy\'s /certs JSON (no "certificates" list)');
  } catch (err) {
    io.err(`${cmd}: cannot read the proxy's certificates at ${where}/certs: ${(err as Error).message}\n`);
    return 1;
  }
  if (output === 'json') {
    io.out(JSON.stringify(certs, null, 2) + '\n');
    return 0;
  }
  const rows = secretRows(certs);
  io.out(renderSecretTable(rows));
  if (rows.length === 0) io.err(`${cmd}: the proxy at ${where} holds no workload certificate (no identity configured, not yet issued, or expired)\n`);
  return 0;
}
