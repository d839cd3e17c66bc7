// The Envoy-compatible admin surface of a running proxy (in-process, real loopback sockets):
// /config_dump in Envoy's shape from the applied mesh (static form for a config from files), the
// same listener names and bound addresses in /listeners, /server_info's state and node,
// /reset_counters zeroing counters but not gauges, /logging gating the config log, and
// /quitquitquit closing the runtime gracefully.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { request } from '../helpers/http-client.js';
import { meshYaml } from '../helpers/mesh-yaml.js';

const ADMIN_HOST = { host: '127.0.0.1' };
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function meshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-admin-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(1, 'hello'));
  return dir;
}

type Json = Record<string, any>;

describe('a proxy runtime\'s Envoy-compatible admin API', () => {
  it('dumps the applied mesh as Envoy\'s ConfigDump, lists the same listeners, and reports LIVE with its node', async () => {
    const logs: string[] = [];
    const rt = await startProxyRuntime({ sources: [meshDir()], listen: LOOPBACK, admin: LOOPBACK, namespace: 'shop', labels: { app: 'web' }, log: (l, m) => logs.push(`${l} ${m}`) });
    const admin = async (path: string, method = 'GET') => request(rt.adminPort, { path, method, headers: ADMIN_HOST });
    try {
      const dump = JSON.parse((await admin('/config_dump')).body.toString()) as { configs: Json[] };
      expect(dump.configs.map((c) => c['@type'].split('.').pop())).toEqual(['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'ScopedRoutesConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);
      const [boot, clusters, listeners, , routes] = dump.configs as [Json, Json, Json, Json, Json];
      expect(boot.bootstrap.node).toMatchObject({ id: 'sidecar~unknown~unknown.shop~shop.svc.cluster.local', cluster: 'web.shop', user_agent_name: 'wasmesh', metadata: { NAMESPACE: 'shop', LABELS: { app: 'web' } } });
      expect(boot.bootstrap.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: rt.adminPort });
      // From files: as a static bootstrap holds them (route configuration inline).
      const l = listeners.static_listeners[0].listener;
      expect([l['@type'], l.name, l.address.socket_address]).toEqual(['type.googleapis.com/envoy.config.listener.v3.Listener', `outbound_${rt.listenPort}`, { address: '127.0.0.1', port_value: rt.listenPort }]);
      expect(clusters.static_clusters.map((c: Json) => [c.cluster['@type'], c.cluster.name])).toEqual(['outbound|80||svc.test', 'BlackHoleCluster', 'PassthroughCluster'].map((n) => ['type.googleapis.com/envoy.config.cluster.v3.Cluster', n]));
      const vh = routes.static_route_configs[0].route_config.virtual_hosts;
      expect(vh.flatMap((v: Json) => v.routes.map((r: Json) => r.name))).toEqual(['shop/svc/local', 'shop/svc/up', 'allow_any']);
      expect(dump.configs.some((c) => c['@type'].endsWith('EndpointsConfigDump'))).toBe(false);

      // ?include_eds: the endpoints with their live health (the data path holds the endpoint).
      const eds = JSON.parse((await admin('/config_dump?resource=static_endpoint_configs&include_eds')).body.toString()) as { configs: Json[] };
      expect(eds.configs.filter((c) => c.endpoint_config.cluster_name === 'outbound|80||svc.test').map((c) => [c['@type'], c.endpoint_config.cluster_name, c.endpoint_config.endpoints[0].lb_endpoints[0].health_status]))
        .toEqual([['type.googleapis.com/envoy.admin.v3.EndpointsConfigDump.StaticEndpointConfig', 'outbound|80||svc.test', 'HEALTHY']]);

      expect((await admin('/listeners')).body.toString()).toBe(`outbound_${rt.listenPort}::127.0.0.1:${rt.listenPort}\n`);
      const info = JSON.parse((await admin('/server_info')).body.toString()) as Json;
      expect(info).toMatchObject({ state: 'LIVE', hot_restart_version: 'disabled', command_line_options: { concurrency: 1, mode: 'Serve' }, node: { id: boot.bootstrap.node.id } });
      expect(info.version).toMatch(/^wasmesh\/\d+\.\d+\.\d+\/Clean\/RELEASE\/OpenSSL$/);
      expect(info.uptime_current_epoch).toMatch(/^\d+s$/);
      // wasmesh's own dump is still there.
      expect(JSON.parse((await admin('/config_dump?format=wasmesh')).body.toString())).toMatchObject({ version: 1, lastError: null });
    } finally {
      await rt.close();
    }
  });

  it('/reset_counters zeroes counters (gauges keep their values); /logging silences the config log; /quitquitquit drains and closes', async () => {
    const logs: string[] = [];
    const dir = meshDir();
    const rt = await startProxyRuntime({ sources: [dir], listen: LOOPBACK, admin: LOOPBACK, log: (l, m) => logs.push(`${l} ${m}`) });
    const admin = async (path: string, method = 'GET') => request(rt.adminPort, { path, method, headers: ADMIN_HOST });
    const stat = async (name: string) => (JSON.parse((await admin('/stats?format=json')).body.toString()) as Record<string, number>)[name];
    try {
      for (let i = 0; i < 3; i++) expect((await request(rt.listenPort, { path: '/local', headers: { host: 'svc.test' } })).status).toBe(200);
      expect(await stat('downstream_rq_2xx')).toBe(3);
      expect(await stat('server.config_version')).toBe(1);
      expect((await admin('/reset_counters', 'POST')).body.toString()).toBe('OK\n');
      expect(await stat('downstream_rq_2xx')).toBe(0);
      expect(await stat('server.config_version')).toBe(1);
      await request(rt.listenPort, { path: '/local', headers: { host: 'svc.test' } });
      expect(await stat('downstream_rq_2xx')).toBe(1);

      expect((await admin('/logging?config=error', 'POST')).body.toString()).toBe('active loggers:\n  admin: info\n  config: error\n  connection: info\n');
      const before = logs.length;
      // A changed config, reloaded and awaited: its "applied" line is an info line of the config
      // logger, written by then, and silenced.
      writeFileSync(join(dir, 'mesh.yaml'), meshYaml(2, 'hello'));
      await rt.manager.reloadAsync('test');
      expect(rt.manager.version).toBe(2);
      expect(logs.slice(before).filter((l) => l.startsWith('info'))).toEqual([]);

      const quit = await admin('/quitquitquit', 'POST');
      expect([quit.status, quit.body.toString()]).toEqual([200, 'OK\n']);
      await rt.quitRequested;
      await rt.close();
      expect(logs.some((l) => l.includes('POST /quitquitquit'))).toBe(true);
      await expect(request(rt.listenPort, { path: '/local', headers: { host: 'svc.test' } })).rejects.toThrow();
    } finally {
      await rt.close();
    }
  });
});
