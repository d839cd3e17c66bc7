// Test helpers for the seed scenarios: plain HTTP requests with a chosen Host (node:http, so
// the Host header is really sent as given), a load loop with bounded concurrency, and reads of
// a proxy's admin API (/stats as a name → value map, /clusters as JSON).
import { Agent, request } from 'node:http';
import type { ClusterStatus } from '../../host/telemetry/cluster-status.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

/** GET `url`'s path on its host:port, with `headers` (a `host` entry replaces the Host header). */
export function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers: h, body, ms: Date.now() - started });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs `one` `n` times, `concurrency` at a time; results in completion order. */
export async function many<T>(n: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) out.push(await one(next++));
    }),
  );
  return out;
}

/** A proxy's /stats (text form) as name → value. */
export async function stats(adminUrl: string): Promise<Map<string, number>> {
  const text = (await get(`${adminUrl}/stats`)).body;
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const i = line.lastIndexOf(': ');
    if (i > 0) out.set(line.slice(0, i), Number(line.slice(i + 2)));
  }
  return out;
}

/** The sum of every stat whose name ends with `.${suffix}` and contains `part`. */
export function statSum(s: Map<string, number>, part: string, suffix: string): number {
  let n = 0;
  for (const [k, v] of s) if (k.includes(part) && k.endsWith(`.${suffix}`) && Number.isFinite(v)) n += v;
  return n;
}

export async function clusters(adminUrl: string): Promise<ClusterStatus[]> {
  return (JSON.parse((await get(`${adminUrl}/clusters?format=wasmesh`)).body) as { clusters: ClusterStatus[] }).clusters;
}

/** Closes the helpers' pooled connections (so proxies can close promptly). */
export function closeClient(): void {
  agent.destroy();
}
