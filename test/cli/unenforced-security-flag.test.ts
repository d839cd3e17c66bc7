// --allow-unenforced-security on every command that loads Istio YAML: without it, config asking
// for protection wasmesh cannot enforce stops the command at start (exit 1, the located error);
// with it, the command runs and says once per load that the protection is NOT enforced.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../host/cli/main.js';
import { fakeIo as collectingIo, type FakeIo } from '../helpers/fake-io.js';

/** Stops as soon as the command waits for a signal: start-up is all these tests look at. */
const stopAtOnce = (): FakeIo => collectingIo({ stopWith: 'SIGTERM' });

const root = mkdtempSync(join(tmpdir(), 'wasmesh-unenforced-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PEER_AUTH = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec:
  mtls: {mode: STRICT}
`;

/** The demo's gateway config plus a STRICT PeerAuthentication, in its own folder. */
function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  writeFileSync(join(d, 'gw.yaml'), `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-gateway}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`);
  writeFileSync(join(d, 'pa.yaml'), PEER_AUTH);
  return d;
}

const LOCATED = /pa\.yaml:5 \(document 1\) PeerAuthentication default\/default: spec\.mtls\.mode: PeerAuthentication default\/default cannot be enforced by this version: .* \[unenforced_security\]/;

async function both(argsFor: (dir: string) => string[]): Promise<{ refused: FakeIo; allowed: FakeIo; refusedCode: number; allowedCode: number }> {
  const refused = stopAtOnce();
  const refusedCode = await main(argsFor(folder(`r${Math.random().toString(36).slice(2)}`)), refused);
  const allowed = stopAtOnce();
  const allowedCode = await main([...argsFor(folder(`a${Math.random().toString(36).slice(2)}`)), '--allow-unenforced-security'], allowed);
  return { refused, allowed, refusedCode, allowedCode };
}

describe('--allow-unenforced-security', () => {
  it('wasmesh proxy: refused at start without it; with it, serves and warns once', async () => {
    const r = await both((d) => ['proxy', '-f', d, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--gateway', 'web-gateway', '--access-log', 'off']);
    expect(r.refusedCode).toBe(1);
    expect(r.refused.stderr).toMatch(LOCATED);
    expect(r.allowedCode).toBe(0);
    expect(r.allowed.stderr).toMatch(/wasmesh proxy: serving gateway web-gateway/);
    expect(r.allowed.stderr.match(/NOT ENFORCED: mutual TLS mode STRICT/g)).toHaveLength(1);
  });

  it('wasmesh sidecar: the same', async () => {
    const r = await both((d) => ['sidecar', '-f', d, '--app-ports', '5005', '--outbound', '127.0.0.1:0', '--inbound', '127.0.0.1:0', '--health', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    expect(r.refusedCode).toBe(1);
    expect(r.refused.stderr).toMatch(LOCATED);
    expect(r.allowedCode).toBe(0);
    expect(r.allowed.stderr).toMatch(/wasmesh sidecar: outbound on /);
    expect(r.allowed.stderr.match(/NOT ENFORCED: mutual TLS mode STRICT/g)).toHaveLength(1);
  });

  it('wasmesh demo: a run folder holding such a resource is refused without it', async () => {
    const r = await both((d) => ['demo', '--dir', d, '--port', '0', '--admin', '127.0.0.1:0', '--app-ports', '0,0', '--no-access-log']);
    expect(r.refusedCode).toBe(1);
    expect(r.refused.stderr).toMatch(LOCATED);
    expect(r.allowedCode).toBe(0);
    expect(r.allowed.stderr.match(/NOT ENFORCED: mutual TLS mode STRICT/g)).toHaveLength(1);
  });

  it('is in the help of proxy, sidecar, demo and envoy-config', async () => {
    for (const command of ['proxy', 'sidecar', 'demo', 'envoy-config']) {
      const io = stopAtOnce();
      expect(await main([command, '--help'], io)).toBe(0);
      expect(io.stdout, command).toMatch(/--allow-unenforced-security +run even though the config asks for protection/);
    }
  });
});
