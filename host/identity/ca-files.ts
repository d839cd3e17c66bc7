// The CA's key material on disk, in Istio's layout: `root-cert.pem` (the trust bundle, one root or
// several), `ca-cert.pem` + `ca-key.pem` (the signing certificate and its key) and `cert-chain.pem`
// (the signing certificate up to the root). A directory with none of them gets a new self-signed
// root on first start (the signing certificate is then the root itself); one with all four is taken
// as it is — Istio's plug-in CA files, e.g. an existing intermediate, or the layout of Istio's own
// istio-ca-secret (root-cert.pem and cert-chain.pem empty) — after checking that the pieces fit
// together. Keys are written 0600, the directory 0700.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdentityError } from './identity-error.js';
import { generateKeyPair, importPrivateKey, privateKeyPem, webCryptoAlgorithm, x509, type KeyAlgorithm } from './x509.js';

export const CA_FILES = {
  rootCert: 'root-cert.pem',
  caKey: 'ca-key.pem',
  caCert: 'ca-cert.pem',
  certChain: 'cert-chain.pem',
} as const;

/** A generated root lives ten years, as Istio's self-signed root (citadel's default). */
const ROOT_TTL_MS = 10 * 365 * 24 * 3_600_000;

export interface CaMaterial {
  /** The certificate the CA signs with (the root itself when self-signed, else an intermediate). */
  readonly signingCert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: EcdsaParams | RsaHashedImportParams;
  /** Certificates between the signing certificate and its root, nearest first (roots excluded). */
  readonly intermediates: readonly x509.X509Certificate[];
  /** The trust bundle: every root in root-cert.pem. */
  readonly roots: readonly x509.X509Certificate[];
  /** True when this start generated the root (the directory was empty). */
  readonly generated: boolean;
}

export interface CaFilesOptions {
  readonly dir: string;
  /** Key type of a generated root. */
  readonly keyAlgorithm: KeyAlgorithm;
  /** Written into a generated root's subject (O=<trust domain>, as Istio). */
  readonly trustDomain: string;
  readonly now?: () => Date;
}

/** A positive random serial number (hex), 128 bits, as RFC 5280 asks of CAs (at least 64). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f | 0x01; // positive, and no leading zero byte to strip
  return bytes.toString('hex');
}

function fail(dir: string, message: string): never {
  throw new IdentityError('ca_files_invalid', `--ca-dir ${dir}: ${message}`);
}

/** Every certificate in a PEM file, each PEM block in order; a file with none is an error. */
export function readCertificates(dir: string, name: string, text: string): x509.X509Certificate[] {
  let blocks: ArrayBuffer[];
  try {
    blocks = x509.PemConverter.decode(text);
  } catch (err) {
    fail(dir, `${name} is not PEM: ${(err as Error).message}`);
  }
  if (blocks.length === 0) fail(dir, `${name} holds no certificate`);
  return blocks.map((der, i) => {
    try {
      return new x509.X509Certificate(der);
    } catch (err) {
      return fail(dir, `${name}: PEM block ${i + 1} is not an X.509 certificate (${(err as Error).message})`);
    }
  });
}

const isCa = (cert: x509.X509Certificate): boolean => cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;

/** Loads the CA files from `dir`, or generates a root there when it holds none of them. */
export async function openCaFiles(opts: CaFilesOptions): Promise<CaMaterial> {
  const { dir } = opts;
  const present = Object.values(CA_FILES).filter((f) => existsSync(join(dir, f)));
  if (present.length === 0) return generateRoot(opts);
  const missing = Object.values(CA_FILES).filter((f) => !present.includes(f));
  if (missing.length > 0) {
    fail(dir, `has ${present.join(', ')} but not ${missing.join(', ')}: give all four of Istio's CA files (plug-in CA) or an empty directory (a root is generated)`);
  }
  return loadCaFiles(opts);
}

async function loadCaFiles(opts: CaFilesOptions): Promise<CaMaterial> {
  const { dir } = opts;
  const now = (opts.now ?? (() => new Date()))();
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      return fail(dir, `cannot read ${name}: ${(err as Error).message}`);
    }
  };
  // Istio's own self-signed secret (istio-ca-secret) leaves root-cert.pem and cert-chain.pem
  // empty: the signing certificate is then the root. Taken as it is too.
  const signingText = read(CA_FILES.caCert);
  const rootText = read(CA_FILES.rootCert);
  const chainText = read(CA_FILES.certChain);
  const selfSigned = rootText.trim() === '' ? readCertificates(dir, CA_FILES.caCert, signingText) : null;
  if (selfSigned && !(await selfSigned[0]!.isSelfSigned())) fail(dir, `${CA_FILES.rootCert} is empty and ${CA_FILES.caCert} is not self-signed: the trust bundle is missing`);
  const roots = selfSigned ? [selfSigned[0]!] : readCertificates(dir, CA_FILES.rootCert, rootText);
  for (const [i, r] of roots.entries()) {
    if (!isCa(r)) fail(dir, `${CA_FILES.rootCert}: certificate ${i + 1} (${r.subject}) is not a CA (basicConstraints CA:TRUE missing)`);
    if (!(await r.isSelfSigned())) fail(dir, `${CA_FILES.rootCert}: certificate ${i + 1} (${r.subject}) is not self-signed: a trust bundle holds roots only`);
  }
  const [signingCert, ...extra] = readCertificates(dir, CA_FILES.caCert, signingText);
  if (extra.length > 0) fail(dir, `${CA_FILES.caCert} holds ${extra.length + 1} certificates: it is the signing certificate alone (its chain goes in ${CA_FILES.certChain})`);
  if (!isCa(signingCert!)) fail(dir, `${CA_FILES.caCert} (${signingCert!.subject}) is not a CA certificate (basicConstraints CA:TRUE missing)`);
  if (signingCert!.notAfter.getTime() <= now.getTime()) fail(dir, `${CA_FILES.caCert} (${signingCert!.subject}) expired at ${signingCert!.notAfter.toISOString()}`);
  const keyPem = read(CA_FILES.caKey);
  let signing: Awaited<ReturnType<typeof importPrivateKey>>;
  try {
    signing = await importPrivateKey(keyPem);
  } catch (err) {
    fail(dir, `${CA_FILES.caKey} is not a usable private key: ${(err as Error).message}`);
  }
  // The key must be the one certified by ca-cert.pem: compare the public keys (SPKI DER).
  const keyPublic = createPublicKey(createPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
  if (!Buffer.from(signingCert!.publicKey.rawData).equals(keyPublic)) {
    fail(dir, `${CA_FILES.caKey} does not belong to ${CA_FILES.caCert}: their public keys differ`);
  }
  // cert-chain.pem: the signing certificate, then intermediates, possibly ending with the root.
  const chainFile = chainText.trim() === '' ? [] : readCertificates(dir, CA_FILES.certChain, chainText);
  const rootDer = new Set(roots.map((r) => Buffer.from(r.rawData).toString('base64')));
  const signingDer = Buffer.from(signingCert!.rawData).toString('base64');
  const intermediates = chainFile.filter((c) => {
    const der = Buffer.from(c.rawData).toString('base64');
    return der !== signingDer && !rootDer.has(der);
  });
  // Walk signing cert → intermediates → a root of the bundle, checking every signature.
  let child = signingCert!;
  for (const [i, parent] of intermediates.entries()) {
    if (!(await child.verify({ publicKey: parent, signatureOnly: true }))) {
      fail(dir, `${CA_FILES.certChain}: certificate ${i + 1} after ${CA_FILES.caCert} (${parent.subject}) did not sign ${child.subject}`);
    }
    child = parent;
  }
  let anchored = false;
  for (const r of roots) if (await child.verify({ publicKey: r, signatureOnly: true })) anchored = true;
  if (!anchored) fail(dir, `${child.subject} is not signed by any root in ${CA_FILES.rootCert}: the chain does not reach the trust bundle`);
  return { signingCert: signingCert!, signingKey: signing.key, signingAlgorithm: signing.algorithm, intermediates, roots, generated: false };
}

async function generateRoot(opts: CaFilesOptions): Promise<CaMaterial> {
  const { dir } = opts;
  const now = (opts.now ?? (() => new Date()))();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const algorithm = webCryptoAlgorithm(opts.keyAlgorithm);
  const keys = await generateKeyPair(opts.keyAlgorithm);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `O=${opts.trustDomain}`,
    notBefore: now,
    notAfter: new Date(now.getTime() + ROOT_TTL_MS),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pem = root.toString('pem') + '\n';
  // 'wx': never overwrite a file another process wrote meanwhile; the key first and private.
  const write = (name: string, text: string, mode: number): void => {
    try {
      writeFileSync(join(dir, name), text, { mode, flag: 'wx' });
      chmodSync(join(dir, name), mode); // writeFileSync's mode passes through the umask
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'another process created it meanwhile; start again to use its files' : (err as Error).message;
      fail(dir, `cannot write ${name}: ${why}`);
    }
  };
  write(CA_FILES.caKey, privateKeyPem(keys.privateKey), 0o600);
  write(CA_FILES.caCert, pem, 0o644);
  write(CA_FILES.certChain, pem, 0o644);
  write(CA_FILES.rootCert, pem, 0o644);
  return { signingCert: root, signingKey: keys.privateKey, signingAlgorithm: algorithm, intermediates: [], roots: [root], generated: true };
}
