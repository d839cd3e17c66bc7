// The tls_inspector step on real loopback sockets: the ClientHello and what follows it are put
// back untouched for the proxy to forward; each outcome (SNI, not TLS, too large, a client that
// gives up, the timeout closing or continuing) and its tls_inspector.* counter.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Core } from '../../../host/core/wasm.js';
import { inspectClientHello, type InspectOutcome, type TlsInspectorOptions } from '../../../host/listener/tcp/tls-inspector.js';
import { Stats } from '../../../host/telemetry/stats.js';
import { nodeTlsHello, refragment } from '../../helpers/client-hello-capture.js';

const core = new Core();
let hello: Buffer;
let server: Server;
let port = 0;
let onSocket: (s: Socket) => void = () => {};
const open = new Set<Socket>();

beforeAll(async () => {
  hello = await nodeTlsHello('inspect.example.com', ['h2']);
  server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => {
    open.add(s);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
}, 20_000);
afterAll(() => new Promise<void>((r) => {
  for (const s of open) s.destroy();
  server.close(() => r());
}));

/** Connects, lets `client` write, inspects the accepted socket; resolves with the outcome, the stats and the bytes left to read. */
function inspect(client: (s: Socket) => void, opts: TlsInspectorOptions = {}): Promise<{ outcome: InspectOutcome; stats: Stats; rest: Buffer; ms: number }> {
  const stats = new Stats();
  return new Promise((resolve) => {
    onSocket = (s) => {
      const t0 = Date.now();
      inspectClientHello(s, core, stats.tlsInspector, opts, (outcome) => {
        const ms = Date.now() - t0;
        if (outcome.action === 'close') {
          s.destroy();
          return resolve({ outcome, stats, rest: Buffer.alloc(0), ms });
        }
        // What the proxy would forward: everything the client sent, from the first byte.
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => resolve({ outcome, stats, rest: Buffer.concat(parts), ms }));
        s.resume();
      });
    };
    const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => client(c));
    c.on('error', () => {});
  });
}

describe('tls_inspector', () => {
  test('the SNI and ALPN are read, and every byte sent (hello and data after it) is still there to forward', async () => {
    const after = Buffer.from('application bytes after the hello');
    const { outcome, stats, rest } = await inspect((c) => c.end(Buffer.concat([hello, after])));
    expect(outcome).toEqual({ action: 'continue', sni: 'inspect.example.com', alpn: ['h2'], tls: true, timedOut: false });
    expect(rest.equals(Buffer.concat([hello, after]))).toBe(true);
    expect(stats.tlsInspector.get('tls_found')).toBe(1);
    expect(stats.tlsInspector.get('sni_found')).toBe(1);
    expect(stats.tlsInspector.get('alpn_found')).toBe(1);
  });

  test('a hello in 1-byte records arriving in pieces: the same answer, the bytes untouched', async () => {
    const frag = refragment(hello, 1);
    const { outcome, rest } = await inspect((c) => {
      let i = 0;
      const next = (): void => {
        if (i >= frag.length) return void c.end();
        c.write(frag.subarray(i, (i += 97)));
        setTimeout(next, 1);
      };
      next();
    });
    expect(outcome).toMatchObject({ action: 'continue', sni: 'inspect.example.com' });
    expect(rest.equals(frag)).toBe(true);
  });

  test('plain text: continue without SNI, tls_not_found, bytes untouched', async () => {
    const text = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    const { outcome, stats, rest } = await inspect((c) => c.end(text));
    expect(outcome).toEqual({ action: 'continue', sni: null, alpn: [], tls: false, timedOut: false });
    expect(rest.equals(text)).toBe(true);
    expect(stats.tlsInspector.get('tls_not_found')).toBe(1);
  });

  test('a ClientHello over the limit: closed, client_hello_too_large', async () => {
    const { outcome, stats } = await inspect((c) => c.write(hello), { maxClientHelloBytes: 64 });
    expect(outcome).toEqual({ action: 'close', reason: 'too_large' });
    expect(stats.tlsInspector.get('client_hello_too_large')).toBe(1);
  });

  test('a client that half-closes inside its hello: closed', async () => {
    const { outcome } = await inspect((c) => c.end(hello.subarray(0, 20)));
    expect(outcome).toEqual({ action: 'close', reason: 'downstream_closed' });
  });

  test('the timeout closes (Envoy default) or continues without SNI (continue_on_listener_filters_timeout)', async () => {
    const closed = await inspect((c) => c.write(hello.subarray(0, 10)), { timeoutMs: 200 });
    expect(closed.outcome).toEqual({ action: 'close', reason: 'timeout' });
    expect(closed.ms).toBeGreaterThanOrEqual(190);
    const cont = await inspect((c) => {
      c.write(hello.subarray(0, 10));
      setTimeout(() => c.end(), 400);
    }, { timeoutMs: 200, continueOnTimeout: true });
    expect(cont.outcome).toEqual({ action: 'continue', sni: null, alpn: [], tls: false, timedOut: true });
    expect(cont.rest.equals(hello.subarray(0, 10))).toBe(true);
  });
});
