// Istio's TCP metadata exchange inside a real stock Envoy 1.40 (filters/stats/tcp-exchange.ts):
// the wasmesh_tcp_stats filter as the destination reporter, configured to exchange, in front of
// tcp_proxy to an app. A client speaks as a wasmesh (or Istio) peer does — its header at once —
// and the test checks what Envoy's buffer edits (proxy_set_buffer_bytes: drain and prepend) do on
// the wire: the app never sees the client's header, the client gets Envoy's header in front of
// the app's first bytes, and nothing waits on anything. A server-first app (a greeting before any
// client byte, as MySQL's) and a client-first one (Redis-like) both start; the client's header
// split over several writes is taken off whole; an oversized one closes the connection.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpStatsNetworkFilter } from '../../host/envoy/tcp-stats-filter.js';
import { defaultFiltersWasmPath } from '../../host/envoy/filters-bootstrap.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { encodeExchange, ExchangeReader } from '../../host/telemetry/tcp-metadata-exchange.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/poll-until.js';

const envoy = envoyForTests('tcp-exchange-envoy');

const BETA = workloadMetadata({ name: 'beta-1', namespace: 'shop', labels: { app: 'beta', version: 'v3' }, nodeId: 'sidecar~127.0.0.1~beta-1.shop~shop.svc.cluster.local' });
const CLIENT = workloadMetadata({ name: 'client-1', namespace: 'shop', labels: { app: 'client', version: 'v1' }, nodeId: 'sidecar~127.0.0.2~client-1.shop~shop.svc.cluster.local' });

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Talk {
  /** The peer (Envoy) exchange read off the reply, or null. */
  peer: string | null;
  /** The app's bytes after it. */
  reply: string;
}

/**
 * A mesh client: `head` (its exchange, in pieces) written at once, then `payload` (when given);
 * reads Envoy's exchange off the reply; done once `until` shows in the reply or the socket closes.
 */
function talk(port: number, head: Buffer[], payload: string | null, untilText: string, then?: (s: Socket) => void): Promise<Talk> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const reader = new ExchangeReader(65536);
    let peer: string | null = null;
    let reply = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ peer, reply });
    };
    s.on('connect', async () => {
      for (const h of head) {
        s.write(h);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (payload !== null) s.write(payload);
    });
    s.on('data', (d: Buffer) => {
      if (peer === null) {
        const r = reader.push(d);
        if (r.kind === 'done') {
          peer = r.peer.labels.workload;
          reply += r.rest.toString();
          then?.(s);
        } else if (r.kind !== 'need_more') reply += `<${r.kind}>${d.toString()}`;
      } else reply += d.toString();
      if (reply.includes(untilText)) finish();
    });
    s.on('error', () => {});
    s.on('close', finish);
    setTimeout(finish, 10_000).unref();
  });
}

describe.skipIf(envoy === null)('the TCP exchange in stock Envoy (destination side, buffer edits on the wire)', () => {
  let dir = '';
  let child: ChildProcess | null = null;
  let log = '';
  const apps: Server[] = [];
  /** What each app received, per connection. */
  const received: Record<'first' | 'greet', string[]> = { first: [], greet: [] };
  const ports = { first: 0, greet: 0, admin: 0, app1: 0, app2: 0 };

  const app = async (kind: 'first' | 'greet'): Promise<number> => {
    const server = createServer((s) => {
      const i = received[kind].push('') - 1;
      if (kind === 'greet') s.write('GREETING\n');
      s.on('data', (d: Buffer) => {
        received[kind][i] += d.toString();
        s.write(`app:${d.toString()}`);
      });
      s.on('error', () => {});
    });
    apps.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as { port: number }).port;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-exchange-envoy-'));
    ports.app1 = await app('first');
    ports.app2 = await app('greet');
    for (const k of ['first', 'greet', 'admin'] as const) ports[k] = await freePort();
    const wasm = join(defaultFiltersWasmPath(), '..', 'wasmesh-stats.wasm');
    const filter = tcpStatsNetworkFilter({ reporter: 'destination', self: BETA, peers: [CLIENT], tcpExchange: true, tcpReportingMs: 0 }, wasm);
    const listener = (name: string, port: number, cluster: string): object => ({
      name, address: { socket_address: { address: '127.0.0.1', port_value: port } },
      filter_chains: [{ filters: [filter, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: cluster, cluster } }] }],
    });
    const cluster = (name: string, port: number): object => ({
      name, type: 'STATIC', connect_timeout: '2s',
      load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    });
    const config = {
      node: { id: BETA.nodeId, cluster: 'beta.shop' },
      admin: { address: { socket_address: { address: '127.0.0.1', port_value: ports.admin } } },
      static_resources: {
        listeners: [listener('first', ports.first, 'inbound|6379||'), listener('greet', ports.greet, 'inbound|3306||')],
        clusters: [cluster('inbound|6379||', ports.app1), cluster('inbound|3306||', ports.app2)],
      },
    };
    writeFileSync(join(dir, 'envoy.json'), JSON.stringify(config));
    child = spawn(envoy!, ['-c', join(dir, 'envoy.json'), '--disable-hot-restart', '--concurrency', '1', '-l', 'warning', '--base-id', String(Math.floor(Math.random() * 100000))], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await until('Envoy listening', async () => ((await get(ports.admin, '/listeners').catch(() => '')).includes(`:${ports.greet}`) ? true : undefined), 30_000);
  }, 60_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    for (const s of apps) s.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('client-first: the app gets the command without the client\'s header; the reply carries Envoy\'s header in front', async () => {
    const t = await talk(ports.first, [encodeExchange(CLIENT)], 'PING\r\n', 'app:PING');
    expect(t, log).toEqual({ peer: 'beta-1', reply: 'app:PING\r\n' });
    expect(received.first.at(-1)).toBe('PING\r\n');
  });

  it('server-first: the greeting reaches the client (Envoy\'s header in front) though the client sends nothing after its header; its answer reaches the app', async () => {
    const t = await talk(ports.greet, [encodeExchange(CLIENT)], null, 'app:LOGIN', (s) => s.write('LOGIN'));
    expect(t, log).toEqual({ peer: 'beta-1', reply: 'GREETING\napp:LOGIN' });
    expect(received.greet.at(-1)).toBe('LOGIN');
  });

  it('the client\'s header split over writes is taken off whole', async () => {
    const whole = encodeExchange(CLIENT);
    const pieces = [whole.subarray(0, 3), whole.subarray(3, 9), whole.subarray(9, 40), whole.subarray(40)];
    const t = await talk(ports.first, pieces, 'SPLIT', 'app:SPLIT');
    expect(t.reply).toBe('app:SPLIT');
    expect(received.first.at(-1)).toBe('SPLIT');
  });

  it('a client without a header (no magic): its bytes reach the app as they are, the peer named by nothing', async () => {
    const t = await talk(ports.first, [], 'PLAIN', 'app:PLAIN');
    expect(t.reply).toBe('app:PLAIN');
    expect(received.first.at(-1)).toBe('PLAIN');
  });

  it('a header announcing more than 60 KiB closes the connection; the app gets nothing', async () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0x3d230467, 0);
    head.writeUInt32BE(61441, 4);
    const before = received.first.length;
    const t = await talk(ports.first, [head], 'DATA', 'app:');
    expect(t.reply).toBe('');
    expect(received.first.slice(before).join('')).toBe('');
    expect(log).toMatch(/TCP metadata exchange of 61441 bytes, over the limit of 61440: connection closed/);
  });

  it('the series name the client\'s workload from its exchange; the filter counted what it saw', async () => {
    const stats = await until('closed connections counted', async () => {
      const text = await get(ports.admin, '/stats');
      return text.includes('istio_tcp_connections_closed_total') ? text : undefined;
    }, 20_000);
    const closed = stats.split('\n').filter((l) => l.includes('istio_tcp_connections_closed_total') && l.includes('source_workload=.=client-1;.;'));
    expect(closed.length, stats).toBeGreaterThan(0);
    expect(stats).toMatch(/source_app=\.=client;\.;/);
    expect(stats).toMatch(/wasmesh_tcp_metadata_exchange_found: [1-9]/);
    expect(stats).toMatch(/wasmesh_tcp_metadata_exchange_initial_header_not_found: [1-9]/);
    expect(stats).toMatch(/wasmesh_tcp_metadata_exchange_too_large: 1/);
  });
});
