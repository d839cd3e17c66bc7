// The openssl command line as an independent judge of what host/identity writes (chains, SANs,
// key usages) and as a maker of Istio-style plug-in CA files; a test using it fails if it is absent.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs openssl with `args` in `cwd`; returns stdout+stderr; throws with the output on failure. */
export function openssl(args: readonly string[], cwd?: string): string {
  try {
    return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** `openssl verify` of `leafFile` against `rootFile`, intermediates from `untrusted`; returns the verdict text. */
export function opensslVerify(cwd: string, rootFile: string, leafFile: string, untrusted?: string, purpose?: 'sslserver' | 'sslclient'): string {
  const args = ['verify', '-CAfile', rootFile, ...(untrusted ? ['-untrusted', untrusted] : []), ...(purpose ? ['-purpose', purpose] : []), leafFile];
  return openssl(args, cwd);
}

/**
 * Istio's plug-in CA files made by openssl, as Istio's tools/certs Makefile does: a root and an
 * intermediate it signed, in `dir` as root-cert.pem, ca-cert.pem, ca-key.pem (PKCS#1 for RSA, as
 * that Makefile writes), cert-chain.pem (intermediate then root) and nothing else. Returns the
 * folder where the root's key and the other working files stay.
 */
export function makePluginCa(target: string, keyType: 'rsa' | 'ec' = 'rsa'): { workDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-pki-'));
  const newkey = keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['req', '-x509', ...newkey, '-nodes', '-keyout', 'root-key.pem', '-out', 'root-cert.pem', '-days', '30', '-subj', '/O=Istio/CN=Root CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-new', ...newkey, '-nodes', '-keyout', 'ca-key.pk8.pem', '-out', 'ca.csr', '-subj', '/O=Istio/CN=Intermediate CA/L=cluster1'], dir);
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  openssl(['x509', '-req', '-in', 'ca.csr', '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem', '-CAcreateserial', '-out', 'ca-cert.pem', '-days', '10', '-extfile', 'ca.ext'], dir);
  if (keyType === 'rsa') openssl(['rsa', '-in', 'ca-key.pk8.pem', '-traditional', '-out', 'ca-key.pem'], dir);
  else openssl(['ec', '-in', 'ca-key.pk8.pem', '-out', 'ca-key.pem'], dir);
  const chain = openssl(['x509', '-in', 'ca-cert.pem'], dir) + openssl(['x509', '-in', 'root-cert.pem'], dir);
  writeFileSync(join(dir, 'cert-chain.pem'), chain);
  mkdirSync(target, { recursive: true });
  for (const f of ['root-cert.pem', 'ca-cert.pem', 'ca-key.pem', 'cert-chain.pem']) copyFileSync(join(dir, f), join(target, f));
  return { workDir: dir };
}
