// The image's HEALTHCHECK: asks the sidecar's health port (`GET /healthz/ready` on
// WASMESH_HEALTH, Istio's 15021) whether it can serve, and exits 0 only on a 2xx, so Docker marks
// the container healthy exactly when it can. The one-listener `proxy` mode (gateways) serves no
// health port: when nothing listens there, the admin endpoint's `GET /ready` answers instead.
const health = process.env.WASMESH_HEALTH || '0.0.0.0:15021';
const admin = process.env.WASMESH_ADMIN || '127.0.0.1:15000';
const timeoutMs = Number(process.env.WASMESH_HEALTHCHECK_TIMEOUT_MS || 2000);

/** Splits `host:port` or `[v6]:port`; a wildcard bind address is probed through loopback. */
function target(name, addr, path) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) {
    console.error(`wasmesh-healthcheck: ${name} '${addr}' is not host:port`);
    process.exit(2);
  }
  let host = m[1] ?? m[2];
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${m[3]}${path}`;
}

/** 'ok', 'refused' (nothing listens), or 'failed' (said why on stderr). */
async function probe(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return 'ok';
    console.error(`wasmesh-healthcheck: ${url} answered ${res.status}`);
  } catch (err) {
    const code = err?.cause?.code ?? err?.name ?? err;
    if (code === 'ECONNREFUSED') return 'refused';
    console.error(`wasmesh-healthcheck: ${url} unreachable: ${code}`);
  }
  return 'failed';
}

const healthUrl = target('WASMESH_HEALTH', health, '/healthz/ready');
const adminUrl = target('WASMESH_ADMIN', admin, '/ready');
let result = await probe(healthUrl);
if (result === 'refused') {
  result = await probe(adminUrl);
  if (result === 'refused') console.error(`wasmesh-healthcheck: neither ${healthUrl} nor ${adminUrl} accepts connections (ECONNREFUSED)`);
}
process.exit(result === 'ok' ? 0 : 1);
