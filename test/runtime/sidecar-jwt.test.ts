// RequestAuthentication on a sidecar: the config's jwtRules reach the inbound listener (the app's
// side, as Istio's inbound), not the outbound one; a reload that removes them lifts the check.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { request } from '../helpers/http-client.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstream-servers.js';
import { peerMeshConfig } from '../helpers/peer-mesh-config.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

describe('sidecar with a RequestAuthentication', () => {
  let dir = '';
  let app: HttpUpstream;
  let peer: HttpUpstream;
  let sidecar: SidecarRuntime;
  afterAll(async () => {
    await sidecar?.close();
    await Promise.all([app, peer].map((s) => s?.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('inbound: no token 200, valid 200 (token stripped), invalid 401; outbound unaffected; removed on reload', async () => {
    app = await startHttpUpstream((req, res) => res.end(`auth=${req.headers.authorization ?? '-'}`));
    peer = await startHttpUpstream((req, res) => res.end(`peer auth=${req.headers.authorization ?? '-'}`));
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] });
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-jwt-'));
    writeFileSync(join(dir, 'peer.yaml'), peerMeshConfig({ address: '127.0.0.1', port: peer.port }, { address: '127.0.0.1', port: peer.port }));
    const ra = `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: istio-system}\nspec:\n  jwtRules:\n  - issuer: https://issuer.test\n    jwks: '${jwks}'\n`;
    writeFileSync(join(dir, 'ra.yaml'), ra);
    sidecar = await startSidecarRuntime({ sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [app.port], log: () => {} });
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('https://issuer.test').setExpirationTime('10m').sign(privateKey);
    const inbound = (auth?: string) => request(sidecar.ports.inbound, { headers: { host: 'pod', ...(auth ? { authorization: auth } : {}) } });
    expect([(await inbound()).status, (await inbound()).body.toString()]).toEqual([200, 'auth=-']);
    const ok = await inbound(`Bearer ${token}`);
    expect([ok.status, ok.body.toString()]).toEqual([200, 'auth=-']);
    const bad = await inbound(`Bearer ${token.slice(0, -4)}AAAA`);
    expect([bad.status, bad.body.toString()]).toEqual([401, 'Jwt verification fails']);
    // Outbound carries the client's header untouched (no JWT filter there).
    const out = await request(sidecar.ports.outbound, { headers: { host: 'peer-svc', authorization: 'Bearer junk' } });
    expect(out.body.toString()).toBe('peer auth=Bearer junk');

    rmSync(join(dir, 'ra.yaml'));
    sidecar.reload('test');
    const deadline = Date.now() + 10_000;
    while ((await inbound('Bearer junk')).status !== 200) {
      if (Date.now() > deadline) throw new Error('reload did not lift the JWT check');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 30_000);
});
