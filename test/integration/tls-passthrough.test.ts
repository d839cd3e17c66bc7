// TLS passthrough through a real wasmesh gateway (`wasmesh proxy --gateway --port-map` runtime):
// two real node:https servers, each with its own certificate (a.example.com, b.example.com),
// behind a Gateway port in PASSTHROUGH mode routed by VirtualService `tls:` rules, and a port in
// AUTO_PASSTHROUGH mode routed by Istio's `outbound_.<port>_.<subset>_.<host>` SNI. Clients
// (node:tls, curl) reach the backend their SNI names and see that backend's own certificate
// (the gateway terminates nothing); unknown SNI and no SNI are closed (NR); a 50/50 split; a
// ClientHello trickled byte by byte; the inspector timeout; the stats the admin API serves.
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { meshRoot } from '../helpers/test-certs.js';
import { passthroughYaml, reach, refused, startPassthroughBackends, type PassthroughBackends } from '../helpers/tls-passthrough-fixture.js';

let rt: ProxyRuntime;
let backends: PassthroughBackends;
let pass = 0;
let auto = 0;
const INSPECT_TIMEOUT_MS = 1500;

beforeAll(async () => {
  backends = await startPassthroughBackends();
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tls-pass-'));
  writeFileSync(join(dir, 'config.yaml'), passthroughYaml(backends));
  rt = await startProxyRuntime({
    sources: [dir],
    gateway: 'tls-gw',
    listen: { host: '127.0.0.1', port: 0 },
    gatewayPorts: [80, 443, 15443].map((p) => ({ port: p, at: { host: '127.0.0.1', port: 0 } })),
    admin: { host: '127.0.0.1', port: 0 },
    tlsInspector: { timeoutMs: INSPECT_TIMEOUT_MS },
    log: () => {},
  });
  const byPort = new Map(rt.gatewayPorts.map((g) => [g.port, g.tcp]));
  expect(byPort.get(443), 'port 443 is served by the byte proxy').not.toBeNull();
  expect(byPort.get(15443), 'port 15443 is served by the byte proxy').not.toBeNull();
  pass = byPort.get(443)!.port;
  auto = byPort.get(15443)!.port;
}, 60_000);

afterAll(async () => {
  await rt?.close();
  await backends?.close();
}, 30_000);

const fingerprintOf = (name: 'a' | 'b'): string => backends.fingerprint(name);

async function stats(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${rt.adminPort}/stats`)).text();
}
const stat = (text: string, name: string): number => {
  const m = new RegExp(`^${name.replace(/[.|]/g, (c) => `\\${c}`)}: (\\d+)$`, 'm').exec(text);
  return m === null ? -1 : Number(m[1]);
};

describe('PASSTHROUGH by SNI', () => {
  test('each SNI reaches its own backend, whose own certificate the client verifies (not terminated)', async () => {
    const a = await reach(pass, 'a.example.com', '/one');
    expect(a).toEqual({ body: 'backend-a /one', fingerprint: fingerprintOf('a'), authorized: true });
    const b = await reach(pass, 'b.example.com', '/two');
    expect(b).toEqual({ body: 'backend-b /two', fingerprint: fingerprintOf('b'), authorized: true });
    expect(backends.seen.a).toContain('a.example.com');
    expect(backends.seen.b).toContain('b.example.com');
  });

  test('curl with the name resolved to the gateway verifies the backend certificate against its CA', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('curl', ['-sS', '--max-time', '10', '--cacert', meshRoot().cert, '--resolve', `b.example.com:${pass}:127.0.0.1`, `https://b.example.com:${pass}/curl`], (err, stdout, stderr) => (err ? reject(new Error(`curl: ${stderr || err.message}`)) : resolve(stdout)));
    });
    expect(out).toBe('backend-b /curl');
  });

  test('SNI matching is case-insensitive', async () => {
    expect((await reach(pass, 'A.Example.COM')).body).toBe('backend-a /');
  });

  test('an SNI no rule takes, and no SNI at all: closed, counted as no route (NR)', async () => {
    const before = await stats();
    expect(await refused(pass, 'c.example.com')).toBe('closed');
    expect(await refused(pass, 'a.example.org')).toBe('closed');
    expect(await refused(pass, '')).toBe('closed'); // node:tls sends no SNI for an empty servername
    const after = await stats();
    expect(stat(after, 'tcp.0.0.0.0_443.downstream_cx_no_route') - Math.max(0, stat(before, 'tcp.0.0.0.0_443.downstream_cx_no_route'))).toBe(3);
    expect(stat(after, 'tls_inspector.sni_not_found') - Math.max(0, stat(before, 'tls_inspector.sni_not_found'))).toBe(1);
    expect(stat(after, 'response_flag.NR')).toBeGreaterThanOrEqual(3);
  });

  test('a 50/50 split of split.example.com over both backends', async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 20; i++) bodies.push((await reach(pass, 'split.example.com')).body);
    expect(bodies.filter((b) => b.startsWith('backend-a')).length).toBe(10);
    expect(bodies.filter((b) => b.startsWith('backend-b')).length).toBe(10);
  });

  test('a ClientHello trickled one byte per write still routes by its SNI', async () => {
    const raw = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port: pass, noDelay: true }, () => resolve(s));
      s.on('error', reject);
    });
    let writes = 0;
    // A duplex that sends what TLS writes one byte at a time, a macrotask apart.
    const trickle = new Duplex({
      write(chunk: Buffer, _enc, cb) {
        let i = 0;
        const next = (): void => {
          if (i >= chunk.length) return cb();
          raw.write(chunk.subarray(i, ++i));
          writes++;
          setTimeout(next, 0);
        };
        next();
      },
      read() {},
      final(cb) { raw.end(); cb(); },
    });
    raw.on('data', (d) => trickle.push(d));
    raw.on('end', () => trickle.push(null));
    const r = await reach(pass, 'b.example.com', '/slow', trickle);
    expect(r.body).toBe('backend-b /slow');
    expect(writes).toBeGreaterThan(200);
  });

  test('the inspector timeout: a client that sends nothing, or half a ClientHello, is closed after it', async () => {
    const before = stat(await stats(), 'downstream_pre_cx_timeout');
    const closedAfter = (payload: Buffer): Promise<number> => new Promise((resolve) => {
      const t0 = Date.now();
      const s = netConnect({ host: '127.0.0.1', port: pass }, () => s.write(payload));
      s.on('error', () => {});
      s.on('close', () => resolve(Date.now() - t0));
    });
    const [silent, half] = await Promise.all([closedAfter(Buffer.alloc(0)), closedAfter(Buffer.from([22, 3, 1, 0x01, 0x00, 1, 0, 0]))]);
    for (const ms of [silent, half]) {
      expect(ms).toBeGreaterThanOrEqual(INSPECT_TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(INSPECT_TIMEOUT_MS + 2000);
    }
    expect(stat(await stats(), 'downstream_pre_cx_timeout') - Math.max(0, before)).toBe(2);
  });

  test('plain text on a passthrough port: not TLS, no SNI, no route: closed at once', async () => {
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: pass }, () => s.write('GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n'));
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    expect(Date.now() - t0).toBeLessThan(INSPECT_TIMEOUT_MS);
    expect(stat(await stats(), 'tls_inspector.tls_not_found')).toBeGreaterThanOrEqual(1);
  });
});

describe('AUTO_PASSTHROUGH by outbound_ SNI', () => {
  test('outbound_.443_._.<host> reaches that service, with its own certificate', async () => {
    const a = await reach(auto, 'outbound_.443_._.a.example.com', '/auto');
    expect(a).toMatchObject({ body: 'backend-a /auto', fingerprint: fingerprintOf('a') });
    const b = await reach(auto, 'outbound_.443_._.b.example.com');
    expect(b).toMatchObject({ body: 'backend-b /', fingerprint: fingerprintOf('b') });
    expect(backends.seen.b).toContain('outbound_.443_._.b.example.com');
  });

  test('a plain host name, an unknown port or subset: closed (no such cluster)', async () => {
    expect(await refused(auto, 'a.example.com')).toBe('closed');
    expect(await refused(auto, 'outbound_.8443_._.a.example.com')).toBe('closed');
    expect(await refused(auto, 'outbound_.443_.v9_.a.example.com')).toBe('closed');
  });
});

describe('stats', () => {
  test('tls_inspector.*, tcp.<cluster>.* and istio_tcp_* for passed-through connections', async () => {
    const text = await stats();
    expect(stat(text, 'tls_inspector.tls_found')).toBeGreaterThan(20);
    expect(stat(text, 'tls_inspector.sni_found')).toBeGreaterThan(20);
    expect(stat(text, 'tls_inspector.alpn_not_found')).toBeGreaterThan(0);
    expect(stat(text, 'tcp.outbound|443||a.example.com.downstream_cx_total')).toBeGreaterThanOrEqual(3);
    const prom = await (await fetch(`http://127.0.0.1:${rt.adminPort}/stats/prometheus`)).text();
    expect(prom).toMatch(/istio_tcp_connections_opened_total\{reporter="source",[^}]*destination_service="a\.example\.com"[^}]*\} \d+/);
  });
});
