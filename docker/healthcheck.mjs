// The image's HEALTHCHECK: asks the proxy's admin endpoint whether config is loaded (`GET /ready`)
// and exits 0 only on a 2xx, so Docker marks the container healthy exactly when it can serve.
const admin = process.env.WASMESH_ADMIN || '127.0.0.1:15000';
const timeoutMs = Number(process.env.WASMESH_HEALTHCHECK_TIMEOUT_MS || 2000);

/** Splits `host:port` or `[v6]:port`; a wildcard bind address is probed through loopback. */
function target(addr) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) return null;
  let host = m[1] ?? m[2];
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${m[3]}/ready`;
}

const url = target(admin);
if (!url) {
  console.error(`wasmesh-healthcheck: WASMESH_ADMIN '${admin}' is not host:port`);
  process.exit(2);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.ok) process.exit(0);
  console.error(`wasmesh-healthcheck: ${url} answered ${res.status}`);
} catch (err) {
  console.error(`wasmesh-healthcheck: ${url} unreachable: ${err?.cause?.code ?? err?.name ?? err}`);
}
process.exit(1);
