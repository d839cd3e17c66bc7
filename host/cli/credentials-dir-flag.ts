// `--credentials-dir <dir>`, declared once for every command that loads a Gateway or a
// DestinationRule tls credentialName (proxy, sidecar, control-plane, envoy-config, demo): where a `credentialName` is found, laid out as Kubernetes
// TLS secrets (host/config/translate/credential-files.ts).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type FlagSpec, type FlagValues } from './args.js';

export const CREDENTIALS_DIR_FLAG: FlagSpec = {
  name: 'credentials-dir',
  kind: 'string',
  valueName: '<dir>',
  help:
    'where a tls credentialName (Gateway, DestinationRule) is found, laid out as Kubernetes TLS secrets: <dir>/<name>/tls.crt, ' +
    'tls.key, and ca.crt (or <dir>/<name>-cacert/ca.crt) for client certificates',
};

/** The directory, absolute; a path that is not a directory is a usage error naming it. */
export function credentialsDirFromFlags(command: string, values: FlagValues): string | undefined {
  const dir = values['credentials-dir'] as string | undefined;
  if (dir === undefined) return undefined;
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(command, `--credentials-dir: "${dir}" is not a directory`);
  return resolve(dir);
}
