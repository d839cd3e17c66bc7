// Path normalization over a real proxy: the regression cases of Istio's normalization guide
// (CVE-2019-9901, CVE-2021-31920, CVE-2021-39156, CVE-2021-39155) against a VirtualService-like
// route table where `/admin` goes to one upstream and everything else to another. A path that
// reaches `admin` in any spelling must be routed as /admin, and the upstream must be sent the
// normalized path.
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import type { PathNormalization } from '../../host/model/mesh-settings.js';
import { proxy, upstream, useCleanup } from './traffic-helpers.js';

useCleanup();

async function setup(mode: PathNormalization | undefined): Promise<{ port: number; admin: string[]; pub: string[] }> {
  const admin: string[] = [];
  const pub: string[] = [];
  const a = await upstream((req, res) => { admin.push(req.url!); res.end('admin'); });
  const b = await upstream((req, res) => { pub.push(req.url!); res.end('public'); });
  const m = mesh(
    [{ name: 'admin', ports: [a.port] }, { name: 'public', ports: [b.port] }],
    [{ name: 'default/vs/0', prefix: '/admin', dests: [{ cluster: 'admin' }] }, { name: 'default/vs/1', dests: [{ cluster: 'public' }] }],
  );
  if (mode !== undefined) m.pathNormalization = mode;
  const { p } = await proxy(m);
  return { port: p.port, admin, pub };
}

async function get(port: number, path: string, host = 'svc.test'): Promise<{ status: number; body: string }> {
  const r = await request(port, { path, headers: { host } });
  return { status: r.status, body: r.body.toString() };
}

describe('routing sees the normalized path (default BASE)', () => {
  it.each(['/./admin', '/%61dmin', '/public/../admin', '/x/%2e%2e/admin', '/public\\..\\admin'])('%s reaches the /admin route as /admin', async (path) => {
    const s = await setup(undefined);
    expect(await get(s.port, path)).toEqual({ status: 200, body: 'admin' });
    expect(s.admin).toEqual(['/admin']);
  });

  it('CVE-2019-9901: /a/../b is forwarded as /b', async () => {
    const s = await setup('BASE');
    expect((await get(s.port, '/a/../b?q=/../x')).body).toBe('public');
    expect(s.pub).toEqual(['/b?q=/../x']);
  });

  it('CVE-2021-39156: the fragment is stripped (in every mode), so /admin#x is /admin', async () => {
    for (const mode of ['NONE', 'BASE'] as const) {
      const s = await setup(mode);
      expect((await get(s.port, '/admin#/../public')).body).toBe('admin');
      expect(s.admin).toEqual(['/admin']);
    }
  });

  it('CVE-2021-39155: the Host match is case-insensitive', async () => {
    const s = await setup(undefined);
    expect((await get(s.port, '/admin', 'SVC.Test')).body).toBe('admin');
  });

  it('%00 is refused with 400 before routing when normalizing; NONE forwards it (as Envoy)', async () => {
    const s = await setup(undefined);
    expect((await get(s.port, '/admin%00')).status).toBe(400);
    expect(s.admin).toEqual([]);
    const none = await setup('NONE');
    expect((await get(none.port, '/admin%00')).status).toBe(200);
    expect(none.admin).toEqual(['/admin%00']);
  });
});

describe('CVE-2021-31920: // and escaped slashes per mode', () => {
  // [path, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES]: where the request goes and as what.
  const cases: Array<[string, string, string, string, string]> = [
    ['//admin', 'public //admin', 'public //admin', 'admin /admin', 'admin /admin'],
    ['/x/..//admin', 'public /x/..//admin', 'public //admin', 'admin /admin', 'admin /admin'],
    ['/x%2F..%2Fadmin', 'public /x%2F..%2Fadmin', 'public /x%2F..%2Fadmin', 'public /x%2F..%2Fadmin', 'admin /admin'],
    ['/x%5C..%5Cadmin', 'public /x%5C..%5Cadmin', 'public /x%5C..%5Cadmin', 'public /x%5C..%5Cadmin', 'admin /admin'],
    ['/public/../admin', 'public /public/../admin', 'admin /admin', 'admin /admin', 'admin /admin'],
  ];
  const modes: PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];
  it.each(cases)('%s', async (path, ...expected) => {
    for (let i = 0; i < modes.length; i++) {
      const s = await setup(modes[i]);
      const r = await get(s.port, path);
      const seen = r.body === 'admin' ? s.admin[0] : s.pub[0];
      expect(`${r.body} ${seen}`, modes[i]).toBe(expected[i]);
    }
  });
});
