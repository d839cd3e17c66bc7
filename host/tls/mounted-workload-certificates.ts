// The proxy's workload certificate from files mounted in Istio's layout (/etc/certs:
// cert-chain.pem, key.pem, root-cert.pem), for a proxy whose certificates another agent writes
// (cert-manager, Istio's own agent, a Kubernetes Secret volume). The directory is watched: a
// rewrite is taken once the three files fit together (each parses, the key is the leaf's, the chain
// leads to a root of root-cert.pem, the leaf carries one SPIFFE ID and is valid now); anything else
// is refused with the file and the reason in the log, and the certificate held keeps serving. An
// open() of files that do not fit fails start-up with the same located error.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { parseSpiffeId, formatSpiffeId } from '../identity/spiffe-id.js';
import { readPem } from './pem-files.js';
import type { WorkloadCertificate, WorkloadCertificateSource } from './workload-certificate.js';
import { WorkloadCertificateCell } from './workload-certificate-cell.js';

/** Istio's file names in a mounted certificate directory (/etc/certs). */
export const MOUNTED_FILES = { chain: 'cert-chain.pem', key: 'key.pem', roots: 'root-cert.pem' } as const;

/** Files in a certificate directory that do not make a usable workload certificate. */
export class MountedCertificateError extends Error {
  readonly code = 'WORKLOAD_CERT_INVALID';
  /** The file at fault. */
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`wasmesh: ${path}: ${reason} (WORKLOAD_CERT_INVALID)`);
    this.name = 'MountedCertificateError';
    this.path = path;
  }
}

export interface MountedWorkloadCertificatesOptions {
  /** The directory holding cert-chain.pem, key.pem and root-cert.pem. */
  readonly dir: string;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Quiet time after the last change before the files are read (writers touch three files); 100 ms. */
  readonly debounceMs?: number;
}

/** Every PEM certificate in `text`, in order; throws MountedCertificateError naming `path` and the certificate's place. */
function certificatesIn(text: string, path: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new MountedCertificateError(path, 'no CERTIFICATE block in the file');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new MountedCertificateError(path, `certificate ${i + 1} of ${blocks.length} does not parse: ${(err as Error).message}`);
    }
  });
}

/**
 * Reads and checks the three files of `dir`. Returns the certificate they make; throws
 * MountedCertificateError naming the file at fault (or Error `TLS_FILE` for a missing file).
 */
export function readMountedCertificate(dir: string, now = new Date()): WorkloadCertificate {
  const paths = { chain: join(dir, MOUNTED_FILES.chain), key: join(dir, MOUNTED_FILES.key), roots: join(dir, MOUNTED_FILES.roots) };
  const chainPem = readPem(paths.chain, 'certificate chain').toString('utf8');
  const keyPem = readPem(paths.key, 'private key').toString('utf8');
  const rootsPem = readPem(paths.roots, 'trust bundle').toString('utf8');
  const chain = certificatesIn(chainPem, paths.chain);
  const roots = certificatesIn(rootsPem, paths.roots);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new MountedCertificateError(paths.key, `the private key does not parse: ${(err as Error).message}`);
  }
  const leaf = chain[0]!;
  if (leaf.ca) throw new MountedCertificateError(paths.chain, 'the first certificate is a CA certificate, not a workload certificate');
  if (!leaf.checkPrivateKey(key)) throw new MountedCertificateError(paths.key, `the key is not the one certified by the first certificate of ${MOUNTED_FILES.chain} (serial ${leaf.serialNumber})`);
  const uris = (leaf.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
  if (uris.length !== 1) throw new MountedCertificateError(paths.chain, `the leaf must carry exactly one URI SAN (its SPIFFE ID), it carries ${uris.length === 0 ? 'none' : uris.join(', ')}`);
  let identity: string;
  try {
    identity = formatSpiffeId(parseSpiffeId(uris[0]!));
  } catch (err) {
    throw new MountedCertificateError(paths.chain, (err as Error).message);
  }
  chain.forEach((c, i) => {
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    if (now.getTime() >= to) throw new MountedCertificateError(paths.chain, `certificate ${i + 1} (serial ${c.serialNumber}) expired at ${new Date(to).toISOString()}`);
    if (now.getTime() < from) throw new MountedCertificateError(paths.chain, `certificate ${i + 1} (serial ${c.serialNumber}) is not valid before ${new Date(from).toISOString()}`);
  });
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) {
      throw new MountedCertificateError(paths.chain, `certificate ${i + 1} is not signed by certificate ${i + 2}`);
    }
  }
  // A chain that ends in the root itself is fine: the root is trusted as it is.
  const rootDer = new Set(roots.map((r) => r.raw.toString('base64')));
  const top = chain[chain.length - 1]!;
  if (!rootDer.has(top.raw.toString('base64')) && !roots.some((r) => top.checkIssued(r) && top.verify(r.publicKey))) {
    throw new MountedCertificateError(paths.chain, `the chain does not lead to a root of ${paths.roots}`);
  }
  return { identity, certChainPem: chainPem, keyPem, rootsPem, notAfter: new Date(leaf.validTo) };
}

export class MountedWorkloadCertificates implements WorkloadCertificateSource {
  readonly #cell = new WorkloadCertificateCell();
  readonly #opts: MountedWorkloadCertificatesOptions;
  #held: WorkloadCertificate;
  #watcher: FSWatcher | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #expiry: NodeJS.Timeout | null = null;
  #closed = false;

  /** Reads the directory now (throws MountedCertificateError or a TLS_FILE error) and watches it. */
  static open(opts: MountedWorkloadCertificatesOptions): MountedWorkloadCertificates {
    const source = new MountedWorkloadCertificates(opts, readMountedCertificate(opts.dir));
    source.#watch();
    return source;
  }

  private constructor(opts: MountedWorkloadCertificatesOptions, first: WorkloadCertificate) {
    this.#opts = opts;
    this.#held = first;
    this.#take(first);
  }

  current(): WorkloadCertificate | null {
    return this.#cell.current();
  }

  subscribe(listener: (cert: WorkloadCertificate) => void): () => void {
    return this.#cell.subscribe(listener);
  }

  /**
   * Reads the files again: a certificate that fits replaces the one held (subscribers told); one
   * that does not is refused and logged, and the held one stays. Returns whether it was taken.
   */
  reload(): boolean {
    if (this.#closed) return false;
    let next: WorkloadCertificate;
    try {
      next = readMountedCertificate(this.#opts.dir);
    } catch (err) {
      const kept = this.#cell.current() ? `keeping serial ${serialOf(this.#held)} until ${this.#held.notAfter.toISOString()}` : 'none is held';
      this.#opts.log?.('error', `workload certificate files refused: ${(err as Error).message}; ${kept}`);
      return false;
    }
    if (next.certChainPem === this.#held.certChainPem && next.keyPem === this.#held.keyPem && next.rootsPem === this.#held.rootsPem) return false;
    this.#take(next);
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    for (const t of [this.#debounce, this.#expiry]) if (t) clearTimeout(t);
    this.#watcher = this.#debounce = this.#expiry = null;
    this.#cell.clear();
  }

  #take(cert: WorkloadCertificate): void {
    this.#held = cert;
    this.#opts.log?.('info', `workload certificate ${cert.identity} serial ${serialOf(cert)} until ${cert.notAfter.toISOString()} from ${this.#opts.dir}`);
    try {
      this.#cell.set(cert);
    } catch (err) {
      this.#opts.log?.('error', `workload certificate serial ${serialOf(cert)}: a subscriber failed to take it: ${(err as Error).message}`);
    }
    if (this.#expiry) clearTimeout(this.#expiry);
    // Timers hold 32-bit delays: a far expiry is re-armed on the way.
    const arm = (): void => {
      const left = cert.notAfter.getTime() - Date.now();
      this.#expiry = setTimeout(() => {
        if (cert.notAfter.getTime() > Date.now()) return arm();
        if (this.#held !== cert || this.#closed) return;
        this.#cell.clear();
        this.#opts.log?.('error', `workload certificate ${cert.identity} serial ${serialOf(cert)} from ${this.#opts.dir} expired at ${cert.notAfter.toISOString()} and the files were not rewritten with a valid one; TLS that needs it is refused (never plaintext) until they are`);
      }, Math.min(Math.max(0, left), 2 ** 31 - 1));
      this.#expiry.unref();
    };
    arm();
  }

  #watch(): void {
    // The directory, not the files: writers rename over them, and a Kubernetes Secret volume swaps
    // a `..data` symlink, either of which ends a watch on the file itself.
    try {
      this.#watcher = watch(this.#opts.dir, () => this.#changed());
    } catch (err) {
      this.#opts.log?.('warn', `cannot watch ${this.#opts.dir} (${(err as Error).message}); the certificate files are read only at start`);
      return;
    }
    this.#watcher.on('error', (err) => this.#opts.log?.('warn', `watching ${this.#opts.dir} stopped: ${err.message}; the certificate held keeps serving until it expires`));
    this.#watcher.unref();
  }

  #changed(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.reload();
    }, this.#opts.debounceMs ?? 100);
  }
}

function serialOf(cert: WorkloadCertificate): string {
  return new X509Certificate(cert.certChainPem).serialNumber;
}
