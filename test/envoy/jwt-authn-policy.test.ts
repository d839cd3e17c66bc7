// RequestAuthentication for stock Envoy: the jwt_authn config as Istio generates it, and the same
// rules served by the real Envoy binary (inbound listener) and by a wasmesh ProxyServer, with a
// real JWKS server: both planes answer the same requests the same way.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyJwtAuthn, jwksClusterName } from '../../host/envoy/jwt-authn-policy.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { freePort } from '../../host/common/free-port.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { inboundMesh } from '../../host/sidecar/inbound-mesh.js';
import { DEFAULT_JWT_HEADERS, DEFAULT_JWT_PARAMS, type JwtRule } from '../../host/model/jwt-rules.js';
import { request } from '../helpers/http-client.js';
import { startHttpUpstream } from '../helpers/upstream-servers.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';

const rule = (over: Partial<JwtRule> = {}): JwtRule => ({
  source: 'default/jwt', issuer: 'https://issuer.test', audiences: [], jwksUri: 'https://keys.example.com/jwks', jwks: null,
  fromHeaders: DEFAULT_JWT_HEADERS, fromParams: DEFAULT_JWT_PARAMS, fromCookies: [],
  outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 5000, ...over,
});

describe('envoyJwtAuthn: Istio’s jwt_authn', () => {
  it('one rule: provider origins-0 (remote_jwks through its own TLS cluster), requires_any [origins-0, allow_missing]', () => {
    const { filter, clusters } = envoyJwtAuthn([rule({ audiences: ['api'], outputPayloadToHeader: 'x-payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], fromCookies: ['s'] })]);
    const cfg = filter.typed_config as Record<string, any>;
    expect(cfg.providers['origins-0']).toEqual({
      issuer: 'https://issuer.test', audiences: ['api'], forward: false, payload_in_metadata: 'payload',
      remote_jwks: { http_uri: { uri: 'https://keys.example.com/jwks', cluster: 'jwks|keys.example.com|443', timeout: '5s' }, cache_duration: '1200s' },
      from_headers: [{ name: 'authorization', value_prefix: 'Bearer ' }], from_params: ['access_token'], from_cookies: ['s'],
      forward_payload_header: 'x-payload', claim_to_headers: [{ header_name: 'x-sub', claim_name: 'sub' }],
    });
    expect(cfg.rules).toEqual([{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }]);
    expect(cfg.bypass_cors_preflight).toBe(true);
    expect(clusters).toHaveLength(1);
    expect(clusters[0]).toMatchObject({ name: 'jwks|keys.example.com|443', type: 'STRICT_DNS', transport_socket: { typed_config: { sni: 'keys.example.com' } } });
  });

  it('several rules: Istio’s requires_any [each, requires_all [any(each, allow_missing)]]; inline keys are local_jwks; one cluster per JWKS host', () => {
    const { filter, clusters } = envoyJwtAuthn([rule(), rule({ issuer: 'b', jwks: '{"keys":[]}', jwksUri: null }), rule({ issuer: 'c' })]);
    const cfg = filter.typed_config as Record<string, any>;
    expect(cfg.providers['origins-1'].local_jwks).toEqual({ inline_string: '{"keys":[]}' });
    expect(cfg.rules[0].requires.requires_any.requirements).toEqual([
      { provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { provider_name: 'origins-2' },
      { requires_all: { requirements: ['origins-0', 'origins-1', 'origins-2'].map((n) => ({ requires_any: { requirements: [{ provider_name: n }, { allow_missing: {} }] } })) } },
    ]);
    expect(clusters.map((c) => c.name)).toEqual(['jwks|keys.example.com|443']);
    expect(jwksClusterName('http://127.0.0.1:8080/k')).toBe('jwks|127.0.0.1|8080');
  });

  it('clear_route_cache on every provider for a gateway (Istio: every proxy but sidecars), so claim routes see the payload', () => {
    const providers = (r: ReturnType<typeof envoyJwtAuthn>) => Object.values((r.filter.typed_config as Record<string, any>).providers) as Array<Record<string, unknown>>;
    expect(providers(envoyJwtAuthn([rule(), rule({ issuer: 'b' })], true)).map((p) => p.clear_route_cache)).toEqual([true, true]);
    expect(providers(envoyJwtAuthn([rule()])).map((p) => 'clear_route_cache' in p)).toEqual([false]);
  });
});

const envoy = envoyForTests('jwt-authn-policy');

describe.skipIf(envoy === null)('JWT-required on both planes (real Envoy, wasmesh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-jwt-envoy-'));
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no token → 200, valid → 200 (token not forwarded), forged → 401 Jwt verification fails, expired → 401, other issuer → 401', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    const keys = createServer((_q, s) => s.end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => keys.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => keys.close(r)));
    const jwksUri = `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks`;
    const app = await startHttpUpstream((req, res) => res.end(`auth=${req.headers.authorization ?? '-'}`));
    cleanups.push(() => app.close());
    const rules = [rule({ jwksUri })];

    // Envoy: the sidecar inbound listener with the jwt_authn filter.
    const [port, admin] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const { listener, clusters } = envoyInbound({ listen: { host: '127.0.0.1', port }, appPorts: [app.port], mode: 'DISABLE', jwtRules: rules });
    const file = join(dir, 'envoy.json');
    writeFileSync(file, JSON.stringify({ admin: { address: { socket_address: { address: '127.0.0.1', port_value: admin } } }, static_resources: { listeners: [listener], clusters } }));
    let output = '';
    const child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    cleanups.push(() => (child.exitCode === null ? (child.kill('SIGTERM'), exited) : undefined));
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200) break;
      } catch {}
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Envoy not ready: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    // wasmesh: the same rules on a server with the sidecar's inbound routes.
    const wasmesh = new ProxyServer({ host: '127.0.0.1', port: 0, role: 'sidecar-inbound', limits: { drainTimeoutMs: 100 } });
    wasmesh.apply({ ...inboundMesh([app.port]), jwtRules: rules }, 1);
    await wasmesh.listen();
    cleanups.push(() => wasmesh.close());

    const now = Math.floor(Date.now() / 1000);
    const sign = (iss: string, exp: number) => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(iss).setExpirationTime(exp).sign(privateKey);
    const valid = await sign('https://issuer.test', now + 600);
    const cases: Array<[string, Record<string, string>, number, string | null]> = [
      ['no token', {}, 200, 'auth=-'],
      ['valid', { authorization: `Bearer ${valid}` }, 200, 'auth=-'],
      ['forged', { authorization: `Bearer ${valid.slice(0, -6)}AAAAAA` }, 401, 'Jwt verification fails'],
      ['expired', { authorization: `Bearer ${await sign('https://issuer.test', now - 600)}` }, 401, 'Jwt is expired'],
      ['lower-case bearer: no token', { authorization: `bearer ${valid.slice(0, -6)}AAAAAA` }, 200, `auth=bearer ${valid.slice(0, -6)}AAAAAA`],
      ['other issuer', { authorization: `Bearer ${await sign('https://other.test', now + 600)}` }, 401, null],
    ];
    for (const [name, headers, status, body] of cases) {
      const e = await request(port, { path: '/', headers: { host: `svc.test:${app.port}`, ...headers } });
      const w = await request(wasmesh.port, { path: '/', headers: { host: `svc.test:${app.port}`, ...headers } });
      expect([name, e.status], output).toEqual([name, status]);
      expect([name, w.status]).toEqual([name, status]);
      if (body !== null) expect([name, e.body.toString()]).toEqual([name, body]);
      expect([name, w.body.toString()]).toEqual([name, e.body.toString()]);
      if (status === 401) expect(w.headers['www-authenticate']).toBe(e.headers['www-authenticate']);
    }
  }, 30_000);
});
