// A gateway programmed over xDS with a `--port-map` whose further port is a Gateway TCP server:
// its protocol is known only from the control plane's first version, so the port is bound once
// that version is applied — here the control plane comes up only after the proxy has started
// (the proxy reconnects), and the TCP port must still be a byte proxy carrying bytes both ways
// with the `tcp:` route's destination, not an HTTP listener answering 400.
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { gatewayIdentity, startDemoControlPlane, type DemoControlPlane } from '../../host/demo/demo-control-plane.js';
import { freePort } from '../../host/common/free-port.js';
import { tcpGateway, tcpServiceEntries, tcpVirtualService } from '../helpers/tcp-yaml.js';
import { exchange } from '../helpers/tcp-exchange.js';

const GATEWAY_TCP_PORT = 31400;
let echo: Server;
let dir: string;

beforeAll(async () => {
  echo = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(`echo:${d.toString()}`));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-xds-tcp-'));
  const port = (echo.address() as { port: number }).port;
  writeFileSync(join(dir, '00-services.yaml'), tcpServiceEntries([{ name: 'echo', port }]));
  writeFileSync(join(dir, '01-gateway.yaml'), tcpGateway(GATEWAY_TCP_PORT));
  writeFileSync(join(dir, '02-vs.yaml'), tcpVirtualService(GATEWAY_TCP_PORT, [{ name: 'echo', weight: 100 }]));
});

afterAll(async () => {
  await new Promise((r) => echo.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const quiet = () => {};

describe('an xDS gateway\'s further Gateway ports', () => {
  it('a TCP server port is bound as a byte proxy once the first version arrives, even when the control plane comes up after the proxy', async () => {
    const xds = { host: '127.0.0.1', port: await freePort('127.0.0.1') };
    const starting = startProxyRuntime({
      sources: [],
      xds,
      xdsIdentity: gatewayIdentity('tcp-gw'),
      xdsBackoff: { baseMs: 50, maxMs: 200 },
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      gatewayPorts: [{ port: 80, at: { host: '127.0.0.1', port: 0 } }, { port: GATEWAY_TCP_PORT, at: { host: '127.0.0.1', port: 0 } }],
      accessLog: quiet,
      log: quiet,
    });
    let started = false;
    void starting.then(() => (started = true), () => {});
    await new Promise((r) => setTimeout(r, 300));
    // No config yet: the runtime waits for it before binding the TCP port.
    expect(started).toBe(false);
    let cp: DemoControlPlane | null = null;
    try {
      cp = await startDemoControlPlane({ runDir: dir, xds, monitoring: { host: '127.0.0.1', port: 0 }, allowUnenforcedSecurity: false, log: quiet });
      const rt = await starting;
      try {
        const mapped = rt.gatewayPorts.find((p) => p.port === GATEWAY_TCP_PORT)!;
        expect(mapped.tcp).not.toBeNull();
        expect(await exchange(mapped.tcp!.port, 'PING')).toEqual({ reply: 'echo:PING', error: null });
      } finally {
        await rt.close();
      }
    } finally {
      await cp?.close();
      if (!started) await starting.then((rt) => rt.close(), () => {});
    }
  });
});
