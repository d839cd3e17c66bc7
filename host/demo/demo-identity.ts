// A demo workload's identity, as `wasmesh token` and `--token-file` give one to a proxy outside
// Kubernetes: a token for its namespace and service account, signed with the control plane's token
// key and written into the run folder (tokens/<ns>.<sa>.token, Kubernetes' projected token), and
// the workload certificate the proxy gets with it from the demo's CA (Istio's CSR API), renewed at
// half life. Resolves once the first certificate is held, so that the demo prints only what works.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTokenKey } from '../identity/token-key.js';
import { signToken } from '../identity/workload-token.js';
import { formatSpiffeId, spiffeId } from '../identity/spiffe-id.js';
import type { Log } from '../common/log.js';
import { CaWorkloadCertificates } from '../tls/ca-workload-certificates.js';
import type { DemoCa } from './demo-control-plane.js';

/** A service account of the demo's mesh. */
export interface DemoAccount {
  namespace: string;
  serviceAccount: string;
}

/** The demo's tokens live as long as a day of running: the CA renews certificates, not tokens. */
const TOKEN_TTL_MS = 24 * 3_600_000;
/** How long to wait for the first certificate before the demo gives up, naming the identity. */
const FIRST_CERTIFICATE_MS = 15_000;

/** tokens/<ns>.<sa>.token in the run folder: where the token of `account` is written. */
export function tokenFile(runDir: string, account: DemoAccount): string {
  return join(runDir, 'tokens', `${account.namespace}.${account.serviceAccount}.token`);
}

/** The SPIFFE ID of `account` in the demo's trust domain (cluster.local). */
export function demoSpiffeId(account: DemoAccount): string {
  return formatSpiffeId(spiffeId(account.namespace, account.serviceAccount));
}

/**
 * Writes the token of `account` (workloads sharing a service account share its
 * token file) and starts asking the CA for its certificate. The caller closes the source after the proxy.
 */
export async function startDemoIdentity(ca: DemoCa, runDir: string, account: DemoAccount, log: Log): Promise<CaWorkloadCertificates> {
  const file = tokenFile(runDir, account);
  mkdirSync(join(runDir, 'tokens'), { recursive: true });
  const token = signToken(openTokenKey(ca.dir), { namespace: account.namespace, serviceAccount: account.serviceAccount, ttlMs: TOKEN_TTL_MS });
  // Written beside and renamed over, as `wasmesh token -o` does: a reader never sees half a token.
  writeFileSync(`${file}.tmp`, token, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  const source = new CaWorkloadCertificates({
    address: ca.address,
    rootsPem: readFileSync(ca.rootCertFile, 'utf8'),
    token: () => readFileSync(file, 'utf8'),
    identity: spiffeId(account.namespace, account.serviceAccount),
    log,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the CA at ${ca.address} issued no certificate for ${demoSpiffeId(account)} within ${FIRST_CERTIFICATE_MS} ms`)),
      FIRST_CERTIFICATE_MS,
    );
  });
  try {
    await Promise.race([source.start(), timeout]);
  } catch (err) {
    source.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return source;
}
