// Seed 003 (Istio101) with mesh-wide STRICT mTLS, as `wasmesh demo istio101 --mtls` runs it: the
// control plane's CA in the run folder, every app behind its own sidecar holding a workload
// identity (a token per service account), the WorkloadEntries pointing at the sidecars' inbound
// ports with serviceAccount and the tlsMode label, and the PeerAuthentication default in
// istio-system set to STRICT. Gateway → frontend → middleware → backend is mTLS on every hop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startScenario, type RunningScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { proxyConfigCommand } from '../../host/cli/proxy-config-command.js';
import { closeClient, get } from '../helpers/scenario-client.js';
import { fakeIo } from '../helpers/fake-io.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SPIFFE = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

/** A plaintext HTTP/1.1 request: its status, or the socket error that ended it. */
function plain(url: string): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { host: 'backend' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode! }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('seed 003 (Istio101) with mesh-wide STRICT mTLS', () => {
  let mesh: RunningScenario;
  const logs: string[] = [];
  beforeAll(async () => {
    mesh = await startScenario(ISTIO101, {
      root: ROOT,
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      freeAppPorts: true,
      strictMtls: true,
      seed: 3,
      log: (level, message) => logs.push(`${level} ${message}`),
    });
  }, 60_000);
  afterAll(async () => {
    closeClient();
    await mesh?.close();
  });

  it('runs without --allow-unenforced-security: nothing is loaded unenforced', () => {
    expect(logs.filter((l) => /NOT ENFORCED|unenforced/i.test(l))).toEqual([]);
    expect(mesh.mtls).not.toBeNull();
    expect(readFileSync(mesh.mtls!.peerAuthentication, 'utf8')).toMatch(/namespace: istio-system[\s\S]*mode: STRICT/);
  });

  it('answers 200 through every hop, each app naming the caller its sidecar verified', async () => {
    const r = await get(`${mesh.gateway.url}/`);
    expect(r.status, r.body).toBe(200);
    expect(r.headers['x-caller-identity']).toBe(SPIFFE('istio-system', 'istio-ingressgateway-service-account'));
    const lines = r.body.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^frontend-prod - [\\d.]+secs \\(mTLS from ${SPIFFE('istio-system', 'istio-ingressgateway-service-account')}\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^http://middleware/ -> middleware-prod - [\\d.]+secs \\(mTLS from ${SPIFFE('default', 'frontend')}\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^http://backend/ -> backend-prod - [\\d.]+secs \\(mTLS from ${SPIFFE('default', 'middleware')}\\)$`));
    // The apps saw the header their inbound sidecar set, the direct peer's element last.
    expect(mesh.apps.get('backend-prod')!.seen.at(-1)!.headers['x-forwarded-client-cert']).toContain(`URI=${SPIFFE('default', 'middleware')}`);
  });

  it('keeps the seed\'s routing: x-dev-user: super-secret reaches the middleware canary over mTLS', async () => {
    const r = await get(`${mesh.gateway.url}/`, { 'x-dev-user': 'super-secret' });
    expect(r.status, r.body).toBe(200);
    expect(r.body).toMatch(new RegExp(`-> middleware-canary - [\\d.]+secs \\(mTLS from ${SPIFFE('default', 'frontend')}\\)`));
  });

  it('refuses plaintext on every inbound sidecar port; the app behind it never sees the request', async () => {
    for (const [workload, sidecar] of mesh.sidecars) {
      const app = mesh.apps.get(workload)!;
      const before = app.seen.length;
      const r = await plain(`${sidecar.inboundUrl}/`);
      expect(r, workload).toHaveProperty('error');
      expect(app.seen.length, workload).toBe(before);
    }
    expect(mesh.sidecars.size).toBe(4);
  });

  it('`wasmesh proxy-config secret` shows each sidecar\'s SPIFFE certificate from the demo\'s CA', async () => {
    const backend = mesh.sidecars.get('backend-prod')!;
    const table = fakeIo();
    expect(await proxyConfigCommand(['secret', backend.admin], table)).toBe(0);
    expect(table.stdout).toMatch(/^default\s+Cert Chain\s+ACTIVE\s+true/m);
    expect(table.stdout).toMatch(/^ROOTCA\s+CA\s+ACTIVE\s+true/m);
    for (const [workload, sa] of [['backend-prod', 'backend'], ['middleware-canary', 'middleware']] as const) {
      const io = fakeIo();
      expect(await proxyConfigCommand(['secret', '-o', 'json', mesh.sidecars.get(workload)!.admin], io)).toBe(0);
      const leaf = JSON.parse(io.stdout).certificates[0].cert_chain[0];
      expect(leaf.subject_alt_names).toEqual([{ uri: SPIFFE('default', sa) }]);
    }
  });
});
