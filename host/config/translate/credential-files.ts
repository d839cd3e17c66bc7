// An Istio `credentialName` → the PEM files of a Kubernetes TLS secret mounted in a directory
// (`--credentials-dir`): `<dir>/<name>/tls.crt`, `tls.key` and `ca.crt`, with the trust bundle
// also taken from the `<name>-cacert` secret's `ca.crt`, as Istio resolves a gateway's (and a
// DestinationRule's) credential. Files are checked to exist here, and read by the data path.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The files of one credential (paths). */
export interface CredentialFiles {
  readonly name: string;
  /** `tls.crt` and `tls.key`; null when the caller did not ask for a key pair. */
  readonly certificateChain: string | null;
  readonly privateKey: string | null;
  /** `ca.crt` of the secret, else of `<name>-cacert`; null when neither exists (and not required). */
  readonly caCertificates: string | null;
}

export interface CredentialNeeds {
  /** tls.crt and tls.key must exist (a server certificate, a client certificate). */
  readonly keyPair: boolean;
  /** 'required': a ca.crt must exist; 'optional': taken when present; 'none': not looked for. */
  readonly ca: 'required' | 'optional' | 'none';
}

export type CredentialResolution = { readonly ok: true; readonly files: CredentialFiles } | { readonly ok: false; readonly reason: string };

/** A Kubernetes secret name: a lower-case DNS name, so it can never leave the directory. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const CREDENTIALS_DIR_FLAG = '--credentials-dir';

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

export function resolveCredentialFiles(name: string, dir: string | undefined, needs: CredentialNeeds): CredentialResolution {
  if (!SECRET_NAME.test(name) || name.includes('..') || name.length > 253) {
    return { ok: false, reason: `credentialName "${name}" is not a Kubernetes secret name (a lower-case DNS name)` };
  }
  if (dir === undefined) {
    return { ok: false, reason: `credentialName "${name}" needs ${CREDENTIALS_DIR_FLAG} <dir>, the directory holding TLS secrets as <dir>/<name>/tls.crt, tls.key, ca.crt (none given)` };
  }
  let certificateChain: string | null = null;
  let privateKey: string | null = null;
  if (needs.keyPair) {
    certificateChain = join(dir, name, 'tls.crt');
    privateKey = join(dir, name, 'tls.key');
    for (const f of [certificateChain, privateKey]) {
      if (!isFile(f)) return { ok: false, reason: `credentialName "${name}": ${f} does not exist (a TLS secret has tls.crt and tls.key)` };
    }
  }
  let caCertificates: string | null = null;
  if (needs.ca !== 'none') {
    const own = join(dir, name, 'ca.crt');
    const separate = join(dir, `${name}-cacert`, 'ca.crt');
    caCertificates = isFile(own) ? own : isFile(separate) ? separate : null;
    if (caCertificates === null && needs.ca === 'required') {
      return { ok: false, reason: `credentialName "${name}": the client CA is needed, and neither ${own} nor ${separate} exists` };
    }
  }
  return { ok: true, files: { name, certificateChain, privateKey, caCertificates } };
}
