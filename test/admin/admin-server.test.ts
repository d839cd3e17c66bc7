// The admin API over a real loopback socket: readiness, dumps, stats formats and Envoy's
// query parameters (filter, usedonly, format, resource), 400 for what it does not serve, 404/405.
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer, type AdminSources } from '../../host/admin/admin-server.js';
import { ListenError } from '../../host/common/listen-error.js';
import { Stats, type StatRecord } from '../../host/telemetry/stats.js';

let servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(sources: Partial<AdminSources>, port = 0): Promise<AdminServer> {
  const full: AdminSources = {
    ready: () => true,
    configDump: () => ({ version: 3 }),
    envoyConfigDump: () => ({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: [{ name: 'l' }] }] }),
    stats: () => [{ name: 'a.b', value: 1, kind: 'counter', used: true, tagName: 'a.b', tags: [] }],
    clustersText: () => 'c::1.2.3.4:5::health_flags::healthy\n',
    clustersJson: () => ({ clusters: [] }),
    envoyClustersJson: () => ({ cluster_statuses: [] }),
    ...sources,
  };
  const s = new AdminServer({ port, sources: full });
  servers.push(s);
  await s.listen();
  return s;
}

describe('AdminServer', () => {
  it('/certs: the sources\' JSON, or Envoy\'s empty list when there are none', async () => {
    const none = await start({});
    const r = await fetch(`http://127.0.0.1:${none.port}/certs`);
    expect([r.status, await r.json()]).toEqual([200, { certificates: [] }]);
    const some = await start({ certs: () => ({ certificates: [{ ca_cert: [], cert_chain: [] }] }) });
    expect(await (await fetch(`http://127.0.0.1:${some.port}/certs`)).json()).toEqual({ certificates: [{ ca_cert: [], cert_chain: [] }] });
    expect((await fetch(`http://127.0.0.1:${some.port}/certs?x=1`)).status).toBe(400);
  });

  it('/ready: 503 says why when the sources say (PRE_INITIALIZING: <reason>), plain PRE_INITIALIZING otherwise', async () => {
    let reason: string | null = 'workload certificate not yet issued';
    const s = await start({ ready: () => reason === null, notReadyReason: () => reason });
    const res = await fetch(`http://127.0.0.1:${s.port}/ready`);
    expect([res.status, await res.text()]).toEqual([503, 'PRE_INITIALIZING: workload certificate not yet issued\n']);
    reason = null;
    expect((await fetch(`http://127.0.0.1:${s.port}/ready`)).status).toBe(200);
    const plain = await start({ ready: () => false });
    const r2 = await fetch(`http://127.0.0.1:${plain.port}/ready`);
    expect([r2.status, await r2.text()]).toEqual([503, 'PRE_INITIALIZING\n']);
  });

  it('binds loopback by default and serves each endpoint', async () => {
    let ready = false;
    const s = await start({ ready: () => ready });
    expect(s.host).toBe('127.0.0.1');
    const base = `http://127.0.0.1:${s.port}`;
    let res = await fetch(`${base}/ready`);
    expect(res.status).toBe(503);
    ready = true;
    res = await fetch(`${base}/ready`);
    expect([res.status, await res.text()]).toEqual([200, 'LIVE\n']);
    res = await fetch(`${base}/config_dump`);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: [{ name: 'l' }] }] });
    expect(await (await fetch(`${base}/config_dump?format=wasmesh`)).json()).toEqual({ version: 3 });
    expect(await (await fetch(`${base}/stats`)).text()).toBe('a.b: 1\n');
    expect(await (await fetch(`${base}/stats?format=json`)).json()).toEqual({ 'a.b': 1 });
    expect(await (await fetch(`${base}/clusters`)).text()).toContain('health_flags::healthy');
    expect(await (await fetch(`${base}/clusters?format=json`)).json()).toEqual({ cluster_statuses: [] });
    expect(await (await fetch(`${base}/clusters?format=wasmesh`)).json()).toEqual({ clusters: [] });
    const index = await (await fetch(`${base}/`)).text();
    for (const p of ['/ready', '/config_dump', '/stats', '/clusters']) expect(index).toContain(p);
  });

  it('answers 404 for unknown paths, 405 for writes, 500 when a source throws', async () => {
    const s = await start({ stats: () => { throw new Error('boom'); } });
    const base = `http://127.0.0.1:${s.port}`;
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/ready`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const res = await fetch(`${base}/stats`);
    expect([res.status, await res.text()]).toEqual([500, 'admin /stats failed: boom\n']);
  });

  it('reports a busy port by name', async () => {
    const a = await start({});
    const err = await start({}, a.port).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as Error).message).toBe(`admin port ${a.port} on 127.0.0.1 is already in use`);
  });

  it('lists the query parameters each endpoint serves in its index', async () => {
    const s = await start({});
    const index = await (await fetch(`http://127.0.0.1:${s.port}/`)).text();
    expect(index).toContain('/stats/prometheus');
    expect(index).toMatch(/\/stats +.*\?format=json\|prometheus, \?filter=<RE2 regex>, \?usedonly/);
    expect(index).toMatch(/\/config_dump +.*\?resource=/);
  });
});

/** A proxy's stats after some traffic: one cluster that served, one never used, a gauge back at zero. */
function trafficStats(): StatRecord[] {
  const stats = new Stats();
  stats.downstream.inc('downstream_rq_total', 3);
  stats.downstream.inc('downstream_rq_active');
  stats.downstream.dec('downstream_rq_active');
  stats.downstreamDone(200, []);
  stats.downstreamDone(503, ['UH']);
  const web = stats.cluster('outbound|5005|v1|web.default.svc.cluster.local');
  web.inc('upstream_rq_total', 2);
  web.incDynamic('upstream_rq_503');
  web.inc('upstream_rq_5xx');
  stats.cluster('idle');
  stats.recordReload(true, 1);
  return stats.records();
}

describe('AdminServer query parameters', () => {
  async function base(sources: Partial<AdminSources> = {}): Promise<string> {
    const s = await start({ stats: trafficStats, ...sources });
    return `http://127.0.0.1:${s.port}`;
  }
  const get = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  it('/stats?filter= keeps the stats whose name the RE2 pattern matches anywhere (anchors for whole names)', async () => {
    const b = await base();
    const names = (body: string) => body.trim().split('\n').map((l) => l.split(': ')[0]);
    expect(names((await get(`${b}/stats?filter=rq_5`)).body)).toEqual(['cluster.idle.upstream_rq_5xx', 'cluster.outbound|5005|v1|web.default.svc.cluster.local.upstream_rq_503', 'cluster.outbound|5005|v1|web.default.svc.cluster.local.upstream_rq_5xx', 'downstream_rq_5xx']);
    expect(names((await get(`${b}/stats?filter=${encodeURIComponent('^server\\.')}`)).body)).toEqual(['server.config_reload', 'server.config_reload_fail', 'server.config_version']);
    expect(names((await get(`${b}/stats?filter=${encodeURIComponent('_total$')}`)).body)).toContain('downstream_rq_total');
    expect(names((await get(`${b}/stats?filter=${encodeURIComponent('_total$')}`)).body)).not.toContain('downstream_rq_total_x');
    // An empty filter filters nothing, as in Envoy.
    expect((await get(`${b}/stats?filter=`)).body).toBe((await get(`${b}/stats`)).body);
    // JSON and Prometheus take the filter too.
    expect(Object.keys(JSON.parse((await get(`${b}/stats?format=json&filter=^server`)).body))).toEqual(['server.config_reload', 'server.config_reload_fail', 'server.config_version']);
    expect((await get(`${b}/stats?format=prometheus&filter=config_version`)).body).toBe('# TYPE envoy_server_config_version gauge\nenvoy_server_config_version 1\n');
  });

  it('a filter that is not a regex (or one this engine refuses) is a 400 naming the problem', async () => {
    const b = await base();
    let r = await get(`${b}/stats?filter=${encodeURIComponent('rq_(5')}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/^bad filter for \/stats: regex "rq_\(5"/);
    r = await get(`${b}/stats/prometheus?filter=${encodeURIComponent('(?=x)')}`);
    expect(r.status).toBe(400);
    expect(r.body).toContain('bad filter for /stats/prometheus');
  });

  it('?usedonly keeps the counters incremented and the gauges moved at least once', async () => {
    const b = await base();
    const used = (await get(`${b}/stats?usedonly`)).body;
    expect(used).toMatch(/^downstream_rq_total: 3$/m);
    // Back at zero, but it moved: used (Envoy: gauges changed at least once).
    expect(used).toMatch(/^downstream_rq_active: 0$/m);
    expect(used).toMatch(/^response_flag\.UH: 1$/m);
    expect(used).not.toMatch(/^downstream_rq_4xx:/m);
    expect(used).not.toMatch(/^cluster\.idle\./m);
    expect(used).not.toMatch(/^server\.config_reload_fail:/m);
    expect(used).toMatch(/^server\.config_version: 1$/m);
    const all = (await get(`${b}/stats`)).body;
    expect(all).toMatch(/^cluster\.idle\.upstream_rq_total: 0$/m);
    expect((await get(`${b}/stats?usedonly=&filter=^cluster`)).body.trim().split('\n')).toEqual([
      'cluster.outbound|5005|v1|web.default.svc.cluster.local.upstream_rq_503: 1',
      'cluster.outbound|5005|v1|web.default.svc.cluster.local.upstream_rq_5xx: 1',
      'cluster.outbound|5005|v1|web.default.svc.cluster.local.upstream_rq_total: 2',
    ]);
  });

  it('?format=prometheus and /stats/prometheus: Envoy\'s names, labels and TYPE lines', async () => {
    const b = await base();
    const a = await get(`${b}/stats?format=prometheus&usedonly`);
    const c = await get(`${b}/stats/prometheus?usedonly`);
    expect(a.status).toBe(200);
    expect(a.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(c.body).toBe(a.body);
    const web = 'envoy_cluster_name="outbound|5005|v1|web.default.svc.cluster.local"';
    expect(a.body).toBe(
      [
        '# TYPE envoy_cluster_upstream_rq counter',
        `envoy_cluster_upstream_rq{envoy_response_code="503",${web}} 1`,
        '# TYPE envoy_cluster_upstream_rq_total counter',
        `envoy_cluster_upstream_rq_total{${web}} 2`,
        '# TYPE envoy_cluster_upstream_rq_xx counter',
        `envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",${web}} 1`,
        '# TYPE envoy_downstream_rq_total counter',
        'envoy_downstream_rq_total 3',
        '# TYPE envoy_downstream_rq_xx counter',
        'envoy_downstream_rq_xx{envoy_response_code_class="2"} 1',
        'envoy_downstream_rq_xx{envoy_response_code_class="5"} 1',
        '# TYPE envoy_response_flag_UH counter',
        'envoy_response_flag_UH 1',
        '# TYPE envoy_server_config_reload counter',
        'envoy_server_config_reload 1',
        '# TYPE envoy_downstream_rq_active gauge',
        'envoy_downstream_rq_active 0',
        '# TYPE envoy_server_config_version gauge',
        'envoy_server_config_version 1',
        '',
      ].join('\n'),
    );
  });

  it('/config_dump?format=wasmesh&resource=<field> answers one repeated field of wasmesh\'s dump as {configs}, and 400 names an unknown one', async () => {
    const dump = { version: 2, resources: [{ kind: 'Gateway' }], mesh: { virtualHosts: [{ name: 'a' }], clusters: [{ name: 'c' }] }, warnings: ['w'], files: ['/f.yaml'], lastError: null };
    const b = await base({ configDump: () => dump });
    const w = (q: string) => get(`${b}/config_dump?format=wasmesh&${q}`);
    expect(JSON.parse((await w('resource=clusters')).body)).toEqual({ configs: [{ name: 'c' }] });
    expect(JSON.parse((await w('resource=warnings')).body)).toEqual({ configs: ['w'] });
    expect(JSON.parse((await w('resource=resources')).body)).toEqual({ configs: [{ kind: 'Gateway' }] });
    for (const bad of ['dynamic_active_clusters', 'version', '__proto__', '']) {
      const r = await w(`resource=${bad}`);
      expect([r.status, r.body]).toEqual([400, `unknown resource '${bad}' for /config_dump; known: resources, warnings, files, virtualHosts, clusters\n`]);
    }
  });

  it('/config_dump?resource=<field> answers Envoy\'s repeated field with its element @type, 404 as Envoy for a field no config has', async () => {
    const b = await base();
    expect(JSON.parse((await get(`${b}/config_dump?resource=dynamic_listeners`)).body)).toEqual({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener', name: 'l' }] });
    for (const missing of ['dynamic_active_clusters', 'static_listeners', 'nope']) {
      const r = await get(`${b}/config_dump?resource=${missing}`);
      expect([r.status, r.body]).toEqual([404, `${missing} not found in config dump\n`]);
    }
  });

  it('answers 400 naming an unknown parameter or format, with what the endpoint knows', async () => {
    const b = await base();
    const cases: Array<[string, string]> = [
      ['/stats?foo=1', "unknown query parameter 'foo' for /stats; known: filter, usedonly, format"],
      ['/stats?filter=x&fliter=y', "unknown query parameter 'fliter' for /stats; known: filter, usedonly, format"],
      ['/stats/prometheus?format=json', "unknown query parameter 'format' for /stats/prometheus; known: filter, usedonly"],
      ['/config_dump?mask=cluster.name', "unknown query parameter 'mask' for /config_dump; known: resource, include_eds, format"],
      ['/config_dump?format=json', "unknown format 'json' for /config_dump; known: wasmesh (absent: Envoy's ConfigDump)"],
      ['/clusters?filter=x', "unknown query parameter 'filter' for /clusters; known: format"],
      ['/ready?verbose', "unknown query parameter 'verbose' for /ready; it takes none"],
      ['/stats?format=xml', "unknown format 'xml' for /stats; known: text, json, prometheus"],
      ['/clusters?format=prometheus', "unknown format 'prometheus' for /clusters; known: text, json, wasmesh"],
    ];
    for (const [path, message] of cases) {
      const r = await get(`${b}${path}`);
      expect([path, r.status, r.body]).toEqual([path, 400, `${message}\n`]);
    }
    // Unknown paths stay 404, whatever their query.
    expect((await get(`${b}/stats/nope?filter=x`)).status).toBe(404);
    expect((await get(`${b}/stats?format=text`)).body).toBe((await get(`${b}/stats`)).body);
  });

  it('answers only a Host that is an IP address or localhost (DNS rebinding): 403 for any other name', async () => {
    const s = await start({});
    const net = await import('node:net');
    const ask = (host: string | null): Promise<string> =>
      new Promise((resolve, reject) => {
        const c = net.connect(s.port, '127.0.0.1', () => c.write(`GET /config_dump HTTP/1.1\r\n${host === null ? '' : `host: ${host}\r\n`}connection: close\r\n\r\n`));
        let got = '';
        c.on('data', (d) => (got += d.toString()));
        c.on('end', () => resolve(got.split('\r\n')[0]!));
        c.on('error', reject);
      });
    for (const ok of ['127.0.0.1', `127.0.0.1:${s.port}`, 'localhost', `LOCALHOST:${s.port}`, '[::1]', `[::1]:${s.port}`, '10.1.2.3:15000']) {
      expect(await ask(ok), ok).toBe('HTTP/1.1 200 OK');
    }
    for (const bad of ['attacker.example', `rebind.attacker.example:${s.port}`, 'localhost.attacker.example', '127.0.0.1.nip.io']) {
      expect(await ask(bad), bad).toBe('HTTP/1.1 403 Forbidden');
    }
  });
});
