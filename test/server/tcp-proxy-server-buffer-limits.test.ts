// The buffer limits a proxy is given (`--limit perConnectionBufferLimitBytes=…`,
// `--limit upstreamPerConnectionBufferLimitBytes=…`: limits of TcpProxyServer, as the runtimes
// pass them) reach every TCP session it starts: toward the downstream the listener's, toward the
// upstream the cluster's, the 1 MiB defaults when not given. What a session does with them (a
// stalled side holds at most the limit plus one read) is tcp-proxy-session.test.ts's; this checks
// the server's side of the seam, over real sockets, by recording the options each session got.
import { connect } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { TCP_TRANSPORTS, currentTcpTransport, useTcpTransport } from '../helpers/tcp-transports.js';
import { loadConfig } from '../../host/config/index.js';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import type { TcpSessionOptions } from '../../host/listener/tcp/tcp-proxy-session.js';
import type { Limits } from '../../host/common/limits.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { tcpGateway, tcpServiceEntries, tcpVirtualService } from '../helpers/tcp-yaml.js';
import { tcpEchoServer } from '../helpers/tcp-echo.js';

const seen = vi.hoisted(() => [] as TcpSessionOptions[]);
/** Each session's downstream and upstream classes (which transport the server gave it). */
const sides = vi.hoisted(() => [] as Array<[string, string]>);
vi.mock('../../host/listener/tcp/tcp-proxy-session.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../host/listener/tcp/tcp-proxy-session.js')>();
  class RecordingSession extends m.TcpProxySession {
    constructor(...args: ConstructorParameters<typeof m.TcpProxySession>) {
      super(...args);
      seen.push(args[2]);
      sides.push([args[0].constructor.name, args[1].constructor.name]);
    }
  }
  return { ...m, TcpProxySession: RecordingSession };
});

const GW_PORT = 31400;
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  seen.length = 0;
  sides.length = 0;
});

async function gateway(limits: Partial<Limits>): Promise<TcpProxyServer> {
  const echo = await tcpEchoServer('a');
  open.push({ close: () => new Promise((r) => { echo.close(r); }) });
  const t = tempYaml({ 'a.yaml': tcpServiceEntries([{ name: 'echo-a', port: echo.port }]), 'b.yaml': tcpGateway(GW_PORT), 'c.yaml': tcpVirtualService(GW_PORT, [{ name: 'echo-a', weight: 1 }]) });
  const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, limits: { drainTimeoutMs: 100, ...limits } });
  p.apply(loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh, 1);
  await p.listen();
  open.push(p);
  return p;
}

/** One proxied exchange: the reply (the session was started once it comes). */
function exchange(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let reply = '';
    s.on('data', (d) => (reply += d.toString()));
    s.on('error', reject);
    s.on('end', () => s.end());
    s.on('close', () => resolve(reply));
    s.end('x');
  });
}

describe.each(TCP_TRANSPORTS)('TcpProxyServer buffer limits reach the session (%s transport)', (transport) => {
  useTcpTransport(transport);
  test('perConnectionBufferLimitBytes toward the downstream, upstreamPerConnectionBufferLimitBytes toward the upstream; pipelined', async () => {
    const p = await gateway({ perConnectionBufferLimitBytes: 65_536, upstreamPerConnectionBufferLimitBytes: 131_072 });
    expect(await exchange(p.port)).toBe('a:x');
    expect(await exchange(p.port)).toBe('a:x');
    expect(seen).toHaveLength(2);
    for (const o of seen) {
      expect(o.bufferLimits).toEqual({ toDownstream: 65_536, toUpstream: 131_072 });
      expect(o.pipelined).toBe(true);
      // The handle transport's downstream reads into its own buffer from the start; a net.Socket one moves on a bulk read.
      expect(o.downstreamReader !== undefined).toBe(transport === 'handle');
      expect(o.upstreamReader).toBeDefined();
    }
    // The transport asked for is the one the sessions run on, both sides.
    const cls = transport === 'handle' ? 'HandleSocket' : 'Socket';
    expect(sides).toEqual([[cls, cls], [cls, cls]]);
    expect(p.transport).toMatchObject({ kind: transport, refused: null });
  });

  test('not given: Envoy\'s 1 MiB each way', async () => {
    const p = await gateway({});
    expect(await exchange(p.port)).toBe('a:x');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.bufferLimits).toEqual({ toDownstream: 1024 * 1024, toUpstream: 1024 * 1024 });
  });
});
