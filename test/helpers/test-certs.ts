// Certificates for TLS tests, made with the openssl CLI into a temp dir (ECDSA P-256): a mesh
// root and a foreign root, and leaves signed by either with the SPIFFE URI SAN
// spiffe://cluster.local/ns/<ns>/sa/<sa> plus DNS SANs. Each leaf is made once per test run
// (per worker) and cached by its options. The CA and SPIFFE issuance of the proxy itself are not
// here: this only stands in for their output files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  /** PEM certificate (the leaf only). */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  /** The files' contents. */
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
}

export interface LeafOptions {
  readonly ns?: string;
  readonly sa?: string;
  /** DNS SANs (default `localhost`). */
  readonly dns?: readonly string[];
  /** Signed by the foreign root instead of the mesh root. */
  readonly foreign?: boolean;
  /** Already expired (notAfter before now). */
  readonly expired?: boolean;
  /** No SPIFFE URI SAN at all. */
  readonly noSpiffe?: boolean;
}

let dir: string | null = null;
const made = new Map<string, CertFiles>();

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function files(base: string): CertFiles {
  const cert = join(dir!, `${base}.crt`);
  const key = join(dir!, `${base}.key`);
  return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) };
}

function root(name: string): CertFiles {
  const cached = made.get(`root:${name}`);
  if (cached) return cached;
  const base = join(certDir(), name);
  if (!existsSync(`${base}.crt`)) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.crt`,
      '-days', '2', '-subj', `/O=${name}/CN=${name} root`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  const f = files(name);
  made.set(`root:${name}`, f);
  return f;
}

/** The temp dir all certificates of this run go to. */
export function certDir(): string {
  if (dir === null) dir = mkdtempSync(join(tmpdir(), 'wasmesh-certs-'));
  return dir;
}

/** The mesh's root (the trust bundle of the tests). */
export function meshRoot(): CertFiles {
  return root('mesh');
}

/** A root the mesh does not trust. */
export function foreignRoot(): CertFiles {
  return root('foreign');
}

export function spiffeId(ns: string, sa: string): string {
  return `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
}

/** A leaf certificate for ns/sa (default default/default), signed by the mesh root unless `foreign`. */
export function leaf(options: LeafOptions = {}): CertFiles {
  const ns = options.ns ?? 'default';
  const sa = options.sa ?? 'default';
  const dns = options.dns ?? ['localhost'];
  const id = JSON.stringify([ns, sa, dns, !!options.foreign, !!options.expired, !!options.noSpiffe]);
  const cached = made.get(id);
  if (cached) return cached;
  const ca = options.foreign ? foreignRoot() : meshRoot();
  const name = `leaf-${made.size}`;
  const base = join(certDir(), name);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', '/']);
  const sans = [...(options.noSpiffe ? [] : [`URI:${spiffeId(ns, sa)}`]), ...dns.map((d) => `DNS:${d}`)];
  writeFileSync(`${base}.ext`, [
    `subjectAltName=critical,${sans.join(',')}`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    '',
  ].join('\n'));
  // `-days -1` puts notAfter a day before notBefore (now): expired, as the verifier sees it.
  openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', options.expired ? '-1' : '1',
    '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
  const f = files(name);
  made.set(id, f);
  return f;
}
