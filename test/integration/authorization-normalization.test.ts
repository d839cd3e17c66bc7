// Istio's normalization guide, through a real ProxyServer: a policy on `/admin*` that none of
// `//admin`, `/./admin`, `/%61dmin`, `/public/../admin` can bypass, as a DENY (the spelling
// must not escape the deny) and as an ALLOW (the spelling must not pass as an allowed path).
// These hold once the path is normalized before routing and authorization (meshConfig
// pathNormalization, Istio's default BASE; MERGE_SLASHES for `//admin`): the authorization
// filter reads the path the stream forwards, up to `?`. Kept apart from authorization.test.ts
// so that they can be run on their own after path normalization lands.
import { describe, it, expect, afterAll } from 'vitest';
import { rawExchange } from '../helpers/http-client.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import { upstream, meshWith, useCleanup } from './traffic-helpers.js';
import { f, rule, policy, pre } from '../helpers/authz-builders.js';

useCleanup();

const servers: ProxyServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function proxyWith(m: MeshConfig, authorization: AuthzPolicy[]): Promise<ProxyServer> {
  // MERGE_SLASHES as well as BASE: `//admin` is one of the spellings.
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 } });
  p.apply({ ...m, authorization, pathNormalization: 'MERGE_SLASHES' }, 1);
  await p.listen();
  servers.push(p);
  return p;
}

/** The status for a request-target sent as is (no client-side normalization). */
async function statusFor(port: number, target: string): Promise<number> {
  const { data } = await rawExchange(port, `GET ${target} HTTP/1.1\r\nhost: svc.test\r\nconnection: close\r\n\r\n`, 1000);
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1'))?.[1] ?? 0);
}

const BYPASSES = ['//admin', '/./admin', '/%61dmin', '/public/../admin', '//admin/x', '/public/..//admin'];

describe('an /admin* policy that no spelling of the path bypasses', () => {
  it('DENY paths /admin*: every spelling of /admin is denied, nothing reaches the app', async () => {
    const up = await upstream((_req, res) => res.end('app'));
    const p = await proxyWith(meshWith([{ name: 'backend', ports: [up.port] }]), [policy('foo/deny-admin', 'DENY', [rule({ to: [[f('request.path', [pre('/admin')])]] })])]);
    expect(await statusFor(p.port, '/admin')).toBe(403);
    const got: Record<string, number> = {};
    for (const target of BYPASSES) got[target] = await statusFor(p.port, target);
    expect(got).toEqual(Object.fromEntries(BYPASSES.map((t) => [t, 403])));
    expect(up.requests.map((r) => r.url)).toEqual([]);
  });

  it('ALLOW paths /public*: a spelling that normalizes to /admin is not allowed', async () => {
    const up = await upstream((_req, res) => res.end('app'));
    const p = await proxyWith(meshWith([{ name: 'backend', ports: [up.port] }]), [policy('foo/allow-public', 'ALLOW', [rule({ to: [[f('request.path', [pre('/public')])]] })])]);
    expect(await statusFor(p.port, '/public/x')).toBe(200);
    const targets = ['/public/../admin', '/public/./../admin', '/public/%2e%2e/admin'];
    const got: Record<string, number> = {};
    for (const target of targets) got[target] = await statusFor(p.port, target);
    expect(got).toEqual(Object.fromEntries(targets.map((t) => [t, 403])));
    expect(up.requests.map((r) => r.url)).toEqual(['/public/x']);
  });
});
