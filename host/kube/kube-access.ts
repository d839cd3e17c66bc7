// How to reach a Kubernetes API server (`wasmesh control-plane --kube`): a kubeconfig file
// (`--kubeconfig`, else the first file of $KUBECONFIG, else ~/.kube/config) or, with none, the
// in-cluster service account (KUBERNETES_SERVICE_HOST/PORT, the token and CA under
// /var/run/secrets/kubernetes.io/serviceaccount), as client-go's rules pick them. Only what a
// watch needs is read: the server, its CA or insecure-skip-tls-verify, a bearer token (inline or
// tokenFile) or a client certificate. Exec and auth-provider plugins are refused, saying so.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeAccess {
  /** https://host:port (http:// accepted for tests). */
  server: string;
  /** PEM of the CA that signs the server's certificate (absent: the system's CAs). */
  ca?: string;
  insecureSkipTlsVerify: boolean;
  /** The bearer token now (re-read per request when it comes from a file: bound tokens rotate). */
  token?: () => string;
  cert?: string;
  key?: string;
  /** Where this came from, for the start-up line. */
  origin: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class KubeAccessError extends Error {}

/** The kubeconfig named by `explicit`, $KUBECONFIG or ~/.kube/config; else in-cluster; else an error. */
export function kubeAccess(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeAccess {
  if (explicit !== undefined) return fromKubeconfig(explicit);
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const file = fromEnv.find((f) => existsSync(f));
  if (file !== undefined) return fromKubeconfig(file);
  if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') return inCluster(env);
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfig(home);
  throw new KubeAccessError('no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not in a cluster (KUBERNETES_SERVICE_HOST unset)');
}

function inCluster(env: NodeJS.ProcessEnv): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenFile = join(SA_DIR, 'token');
  const caFile = join(SA_DIR, 'ca.crt');
  if (!existsSync(tokenFile)) throw new KubeAccessError(`in-cluster: ${tokenFile} is missing (no service account token mounted)`);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ...(existsSync(caFile) ? { ca: readFileSync(caFile, 'utf8') } : {}),
    insecureSkipTlsVerify: false,
    token: () => readFileSync(tokenFile, 'utf8').trim(),
    origin: `in-cluster service account (${host}:${port})`,
  };
}

type Named<T> = { name?: string } & T;

function fromKubeconfig(file: string): KubeAccess {
  let doc: Record<string, unknown>;
  try {
    doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new KubeAccessError(`kubeconfig ${file}: ${(err as Error).message}`);
  }
  const where = (what: string): string => `kubeconfig ${file}: ${what}`;
  const list = <T>(key: string): Array<Named<T>> => (Array.isArray(doc[key]) ? (doc[key] as Array<Named<T>>) : []);
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw new KubeAccessError(where('no current-context'));
  const context = list<{ context?: { cluster?: string; user?: string } }>('contexts').find((c) => c.name === contextName)?.context;
  if (context === undefined) throw new KubeAccessError(where(`current-context "${contextName}" is not among its contexts`));
  const cluster = list<{ cluster?: Record<string, unknown> }>('clusters').find((c) => c.name === context.cluster)?.cluster;
  if (cluster === undefined || typeof cluster.server !== 'string') throw new KubeAccessError(where(`cluster "${context.cluster ?? ''}" of context "${contextName}" is missing or has no server`));
  const user = list<{ user?: Record<string, unknown> }>('users').find((u) => u.name === context.user)?.user ?? {};
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw new KubeAccessError(where(`user "${context.user ?? ''}" authenticates with an exec or auth-provider plugin, which wasmesh does not run; give it a token, tokenFile or client certificate`));
  }
  const base = dirname(file);
  const path = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const pem = (data: unknown, fileKey: unknown): string | undefined => {
    if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
    if (typeof fileKey === 'string') return readFileSync(path(fileKey), 'utf8');
    return undefined;
  };
  const ca = pem(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = pem(user['client-certificate-data'], user['client-certificate']);
  const key = pem(user['client-key-data'], user['client-key']);
  const tokenFile = user.tokenFile;
  const token = typeof user.token === 'string' ? (() => { const t = user.token as string; return () => t; })()
    : typeof tokenFile === 'string' ? () => readFileSync(path(tokenFile), 'utf8').trim() : undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(token !== undefined ? { token } : {}),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    origin: `kubeconfig ${file} (context ${contextName}, ${cluster.server})`,
  };
}
