// A gateway runtime (`wasmesh proxy --port-map`) with a Gateway TCP port: each TCP connection
// gives one line on the CLI access log (Envoy's default format, `"- - -" 0`) and one in the
// meshConfig accessLogFile (Istio's default TEXT format), beside the HTTP port's lines; with the
// CLI log off (no accessLog) only the meshConfig file is written.
import { createServer, connect, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { loadConfig } from '../../host/config/load-config.js';
import { tcpGateway, tcpServiceEntries, tcpVirtualService } from '../helpers/tcp-yaml.js';

const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function echo(): Promise<number> {
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(`a:${d.toString()}`));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}

/** Sends `text`, half-closes, reads until the proxy's FIN. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let reply = '';
    s.on('data', (d) => (reply += d.toString()));
    s.on('end', () => s.end());
    s.on('error', () => {});
    s.on('close', () => resolve(reply));
    s.end(text);
  });
}

async function gateway(cliLog: string[] | null): Promise<{ dir: string; tcpPort: number; close: () => Promise<void> }> {
  const backend = await echo();
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-gw-log-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), [tcpServiceEntries([{ name: 'echo-a', port: backend }]), tcpGateway(31400), tcpVirtualService(31400, [{ name: 'echo-a', weight: 1 }]), `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    accessLogFile: ${dir}/mesh.log
`].join('---\n'));
  const rt = await startProxyRuntime({
    sources: [dir],
    gateway: 'tcp-gw',
    listen: { host: '127.0.0.1', port: 0 },
    gatewayPorts: [80, 31400].map((p) => ({ port: p, at: { host: '127.0.0.1', port: 0 } })),
    admin: { host: '127.0.0.1', port: 0 },
    log: () => {},
    load: (sources, options) => loadConfig(sources, options),
    ...(cliLog !== null ? { accessLog: (line: string) => cliLog.push(line) } : {}),
  });
  const tcp = rt.gatewayPorts.find((g) => g.port === 31400)!.tcp;
  expect(tcp, 'Gateway port 31400 is served by the TCP proxy').not.toBeNull();
  return { dir, tcpPort: tcp!.port, close: () => rt.close() };
}

// Istio's default TEXT format for a TCP connection, as Envoy's tcp_proxy fills it (test/interop/tcp-planes.test.ts
// checks the same shape on stock Envoy over xDS).
const ISTIO_TCP_LINE = /^\[[\d\-T:.]+Z\] "- - -" 0 - - - "-" 5 7 \d+ - "-" "-" "-" "-" "127\.0\.0\.1:\d+" outbound\|7000\|\|echo-a\.example\.internal 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - -$/;

describe('gateway TCP access log', () => {
  test('one line per connection on the CLI log and in the meshConfig accessLogFile', async () => {
    const cli: string[] = [];
    const g = await gateway(cli);
    expect(await exchange(g.tcpPort, 'hello')).toBe('a:hello');
    expect(await exchange(g.tcpPort, 'again')).toBe('a:again');
    await g.close();
    expect(cli).toHaveLength(2);
    for (const l of cli) expect(l).toMatch(/^\[[\d\-T:.]+Z\] "- - -" 0 - 5 7 \d+ - "-" "-" "-" "-" "127\.0\.0\.1:\d+"$/);
    const lines = readFileSync(join(g.dir, 'mesh.log'), 'utf8').split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(ISTIO_TCP_LINE);
  });

  test('--access-log off: no CLI line, the meshConfig file still written', async () => {
    const g = await gateway(null);
    expect(await exchange(g.tcpPort, 'hello')).toBe('a:hello');
    await g.close();
    expect(existsSync(join(g.dir, 'mesh.log'))).toBe(true);
    expect(readFileSync(join(g.dir, 'mesh.log'), 'utf8').split('\n').filter((l) => l !== '')).toHaveLength(1);
  });
});
