// Stock Envoy with its certificates from `wasmesh agent` over SDS, everything a process as an
// operator runs it: `wasmesh control-plane --ca-dir`, `wasmesh token`, `wasmesh agent`, and an Envoy
// whose static listener terminates mTLS with SDS `default`/`ROOTCA` in front of a loopback app. A
// node https client with its own CA-issued certificate gets 200 and the app sees its SPIFFE ID in
// x-forwarded-client-cert; the serial Envoy serves is the agent's; with 4 s certificates renewals
// are swapped in under load with no failed request and no Envoy restart; an agent killed and
// started again is reconnected to; an agent killed leaves Envoy serving what it has.
// Prints the figures docs/identity.md records (renewal → served, push → ACK, agent RSS and CPU).
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdsCluster } from '../../host/envoy/sds-config.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { testMeshCa, type TestSvid } from '../helpers/mesh-ca.js';
import { freePort } from '../helpers/ports.js';
import { sdsTlsListener } from '../helpers/sds-envoy.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';

const envoy = envoyForTests('workload agent + Envoy');
const SERVER_ID = 'spiffe://cluster.local/ns/shop/sa/cart';
const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/client';

interface Reply { status: number; serial: string; body: string }

/** Serials the agent logged as served, with the time of the log line. */
function servedByAgent(agent: WasmeshProcess): Array<{ at: number; serial: string }> {
  return [...agent.stderr.matchAll(/^\[([^\]]+)\]\[info\] SDS: serving \S+ serial ([0-9A-F]+)/gm)].map((m) => ({ at: Date.parse(m[1]!), serial: m[2]! }));
}

/** CPU seconds (user + system) and RSS (KiB) of a process, from /proc. */
function usage(pid: number): { cpuS: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return { cpuS: ticks / 100, rssKiB: Number(rss) };
}

describe.skipIf(envoy === null)('stock Envoy with certificates from wasmesh agent over SDS', () => {
  let dir = '';
  let caDir = '';
  let socketDir = '';
  let caPort = 0;
  let listenPort = 0;
  let cp: WasmeshProcess;
  let agent: WasmeshProcess | null = null;
  let envoyChild: ChildProcess;
  let envoyLog = '';
  let app: Server;
  let client: TestSvid;
  let roots = '';

  function startAgent(ttl: string): WasmeshProcess {
    return new WasmeshProcess(['agent', '--token-file', join(dir, 'cart.token'), '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`,
      '--namespace', 'shop', '--service-account', 'cart', '--cert-ttl', ttl, '--socket-dir', socketDir]);
  }

  /** One request on a new TLS connection (no session reuse: each shows the certificate served now). */
  function get(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: listenPort, path: '/', method: 'GET',
        agent: new Agent({ keepAlive: false, maxCachedSessions: 0 }),
        ca: roots, cert: client.certChainPem, key: client.keyPem,
        // The mesh's identity check: the server's only SAN is the expected SPIFFE ID.
        checkServerIdentity: (_host, cert) => (cert.subjectaltname === `URI:${SERVER_ID}` ? undefined : new Error(`server is ${cert.subjectaltname}`)),
        timeout: 3000,
      }, (res) => {
        const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, serial, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  async function until<T>(what: string, f: () => Promise<T | null>, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    let last: unknown = null;
    for (;;) {
      try {
        const v = await f();
        if (v !== null) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > end) throw new Error(`timed out: ${what} (last error: ${String(last)})\nEnvoy:\n${envoyLog.slice(-3000)}\nagent:\n${agent?.stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-envoy-'));
    caDir = join(dir, 'ca');
    socketDir = join(dir, 'cart');
    app = createServer((req, res) => res.end(JSON.stringify({ xfcc: req.headers['x-forwarded-client-cert'] ?? null })));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as { port: number }).port;
    mkdirSync(join(dir, 'mesh'));
    writeFileSync(join(dir, 'mesh', 'mesh.yaml'), webServices({ v1: appPort }));
    cp = new WasmeshProcess(['control-plane', '-f', join(dir, 'mesh'), '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--ca-dir', caDir, '--secure-listen', '127.0.0.1:0']);
    caPort = Number((await cp.waitFor(/CA for trust domain .* on 127\.0\.0\.1:(\d+) \(TLS/))[1]);
    const token = new WasmeshProcess(['token', '--namespace', 'shop', '--service-account', 'cart', '--ca-dir', caDir, '-o', join(dir, 'cart.token')]);
    expect((await token.exited).code).toBe(0);
    roots = readFileSync(join(caDir, 'root-cert.pem'), 'utf8');
    client = await (await testMeshCa('cluster.local', caDir)).svid('shop', 'client', { ttlMs: 600_000 });

    agent = startAgent('4s');
    await agent.waitFor(/SDS on /);
    listenPort = await freePort();
    const socket = join(socketDir, 'var/run/secrets/workload-spiffe-uds/socket');
    const bootstrap = {
      node: { id: 'sidecar~127.0.0.1~cart-1.shop~shop.svc.cluster.local', cluster: 'cart.shop' },
      admin: { address: { socket_address: { address: '127.0.0.1', port_value: await freePort() } } },
      static_resources: {
        listeners: [sdsTlsListener(listenPort, 'app')],
        clusters: [
          sdsCluster(socket),
          { name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] } },
        ],
      },
    };
    writeFileSync(join(dir, 'envoy.json'), JSON.stringify(bootstrap));
    envoyChild = spawn(envoy!, ['-c', join(dir, 'envoy.json'), '--disable-hot-restart', '-l', 'warning', '--base-id', String(Math.floor(Math.random() * 100000))], { stdio: ['ignore', 'ignore', 'pipe'] });
    envoyChild.stderr!.setEncoding('utf8').on('data', (d: string) => (envoyLog += d));
    // The listener warms until the agent's secrets arrive, then serves.
    await until('Envoy serves mTLS', async () => ((await get()).status === 200 ? true : null));
  }, 60_000);

  afterAll(async () => {
    envoyChild?.kill('SIGTERM');
    await agent?.stop();
    await cp?.stop();
    await new Promise((r) => app?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a mesh client gets 200, the app sees its SPIFFE ID (XFCC), and Envoy serves the agent\'s certificate', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    const xfcc = JSON.parse(r.body).xfcc as string;
    expect(xfcc).toContain(`URI=${CLIENT_ID}`);
    expect(xfcc).toContain(`By=${SERVER_ID}`);
    // Served = the agent's latest (a renewal may land between the two reads: ask again).
    await until('Envoy serves the agent\'s latest serial', async () => ((await get()).serial === servedByAgent(agent!).at(-1)!.serial ? true : null));
  });

  it('4 s certificates renew under load: no failed request, each new serial served, Envoy never restarted', async () => {
    const pid = envoyChild.pid;
    const before = usage(agent!.child.pid!);
    const start = Date.now();
    const seen: Array<{ at: number; serial: string }> = [];
    let failed = 0;
    let ok = 0;
    const errors: string[] = [];
    while (Date.now() - start < 9_000) {
      try {
        const r = await get();
        if (r.status === 200) {
          ok++;
          seen.push({ at: Date.now(), serial: r.serial });
        } else failed++;
      } catch (err) {
        failed++;
        errors.push(String(err));
      }
    }
    const after = usage(agent!.child.pid!);
    expect(errors).toEqual([]);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(20);
    const logged = servedByAgent(agent!);
    const distinct = [...new Set(seen.map((s) => s.serial))];
    // Every 2 s a renewal: at least three new serials in 9 s, each one the agent served.
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    for (const s of distinct) expect(logged.map((l) => l.serial)).toContain(s);
    expect(envoyChild.exitCode).toBeNull();
    expect(envoyChild.pid).toBe(pid);
    // Figures: from the agent's log line to the first response showing the serial.
    const lags = logged.filter((l) => l.at > start).map((l) => {
      const first = seen.find((s) => s.serial === l.serial);
      return first ? first.at - l.at : null;
    }).filter((x): x is number => x !== null);
    const acks = [...agent!.stderr.matchAll(/ACKed secrets version \S+ (\d+) ms after/g)].map((m) => Number(m[1]));
    console.log(`[figures] renewal → new serial served (ms): ${lags.join(', ')}; push → ACK (ms): ${acks.join(', ')}; ` +
      `agent under renewals: ${(((after.cpuS - before.cpuS) / ((Date.now() - start) / 1000)) * 100).toFixed(1)}% CPU, RSS ${after.rssKiB} KiB; requests ${ok}`);
  }, 30_000);

  it('an agent killed and started again: Envoy reconnects to the socket and serves the new agent\'s certificate', async () => {
    await agent!.stop('SIGKILL');
    agent = startAgent('1h');
    await agent.waitFor(/SDS: serving \S+ serial/);
    const { at, serial } = servedByAgent(agent).at(-1)!;
    await until('Envoy serves the restarted agent\'s serial', async () => ((await get()).serial === serial ? true : null));
    console.log(`[figures] agent restarted: its certificate served by Envoy ${Date.now() - at} ms after it was issued (Envoy's reconnect backoff)`);
    const idle0 = usage(agent.child.pid!);
    await new Promise((r) => setTimeout(r, 5_000));
    const idle1 = usage(agent.child.pid!);
    console.log(`[figures] agent idle (1 h certificate, one Envoy connected): ${(((idle1.cpuS - idle0.cpuS) / 5) * 100).toFixed(2)}% CPU over 5 s, RSS ${idle1.rssKiB} KiB`);
  }, 30_000);

  it('an agent SIGKILLed: Envoy keeps serving the certificate it has', async () => {
    const serial = servedByAgent(agent!).at(-1)!.serial;
    await agent!.stop('SIGKILL');
    const start = Date.now();
    let n = 0;
    while (Date.now() - start < 3_000) {
      const r = await get();
      expect(r.status).toBe(200);
      expect(r.serial).toBe(serial);
      n++;
    }
    expect(n).toBeGreaterThan(5);
    expect(envoyChild.exitCode).toBeNull();
  }, 20_000);
});
