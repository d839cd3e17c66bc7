// The runtime's Envoy view of an applied mesh: translated once per version and plan, what Envoy
// could not be given named in the node's metadata instead of failing the dump, and nothing but
// the bootstrap before the first version.
import { describe, expect, it } from 'vitest';
import { EnvoyConfigView, type EnvoyListenPlan } from '../../host/runtime/envoy-config-view.js';
import type { ProxyConfigSource } from '../../host/control/config-source.js';
import type { MeshConfig } from '../../host/model/mesh.js';

const MESH: MeshConfig = { virtualHosts: [], clusters: [] };

function view(current: { mesh: MeshConfig } | null, plan: EnvoyListenPlan) {
  const manager = { version: current ? 1 : 0, current, dump: () => ({ loadedAt: '2026-01-01T00:00:00.000Z' }) } as unknown as ProxyConfigSource;
  return new EnvoyConfigView({ manager, mode: 'static', plan: () => plan, admin: () => ({ host: '127.0.0.1', port: 15000 }), node: () => ({ id: 'n', metadata: { NAMESPACE: 'default' } }), clusters: () => [] });
}
type Json = Record<string, any>;
const byType = (d: { configs: Json[] }, t: string) => d.configs.find((c) => c['@type'].endsWith(t))!;

describe('EnvoyConfigView', () => {
  it('a listener Envoy cannot be given is left out and named in the node metadata; the rest is dumped', () => {
    const v = view({ mesh: MESH }, { listens: [{ host: '127.0.0.1', port: 15001 }], inbound: { listen: { host: '127.0.0.1', port: 15006 }, appPorts: [15006], mode: 'DISABLE' } });
    const d = v.dump(false);
    expect(byType(d, 'ListenersConfigDump').static_listeners.map((l: Json) => l.listener.name)).toEqual(['outbound_15001']);
    const errors = byType(d, 'BootstrapConfigDump').bootstrap.node.metadata.WASMESH_ENVOY_TRANSLATION_ERRORS;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^inbound listener 127\.0\.0\.1:15006: .*app port 15006 is the inbound port itself/);
    expect(byType(d, 'BootstrapConfigDump').bootstrap.node.metadata.NAMESPACE).toBe('default');
    expect(v.listeners()).toEqual([{ name: 'outbound_15001', host: '127.0.0.1', port: 15001 }]);
  });

  it('the inbound listener carries the inbound access logs, as the control plane\'s Envoy sidecar view does', () => {
    const mesh: MeshConfig = { ...MESH, accessLogs: [{ provider: 'envoy', path: '/dev/stdout', encoding: 'TEXT' }], inboundAccessLogs: [{ provider: 'json', path: '/tmp/in.log', encoding: 'JSON', labels: { code: '%RESPONSE_CODE%' } }] };
    const d = view({ mesh }, { listens: [{ host: '127.0.0.1', port: 15001 }], inbound: { listen: { host: '127.0.0.1', port: 15006 }, appPorts: [8080], mode: 'DISABLE' } }).dump(false);
    const listeners = byType(d, 'ListenersConfigDump').static_listeners.map((l: Json) => l.listener);
    const inbound = JSON.stringify(listeners.find((l: Json) => l.name === 'virtualInbound'));
    const outbound = JSON.stringify(listeners.find((l: Json) => l.name === 'outbound_15001'));
    expect(inbound).toContain('"path":"/tmp/in.log"');
    expect(outbound).not.toContain('/tmp/in.log');
    expect(outbound).toContain('access_log');
  });

  it('before the first version: the bootstrap and no resource', () => {
    const d = view(null, { listens: [{ host: '127.0.0.1', port: 15001 }] }).dump(true);
    expect(byType(d, 'ListenersConfigDump')).toEqual({ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump' });
    expect(byType(d, 'BootstrapConfigDump').bootstrap.node.id).toBe('n');
  });

  it('translates once per version and plan: the same objects until either changes', () => {
    let port = 15001;
    const manager = { version: 1, current: { mesh: MESH }, dump: () => ({ loadedAt: null }) } as unknown as ProxyConfigSource;
    const v = new EnvoyConfigView({ manager, mode: 'dynamic', plan: () => ({ listens: [{ host: '127.0.0.1', port }] }), admin: () => ({ host: '127.0.0.1', port: 15000 }), node: () => ({ id: 'n' }), clusters: () => [] });
    const first = byType(v.dump(false), 'ListenersConfigDump').dynamic_listeners[0].active_state.listener;
    expect(byType(v.dump(false), 'ListenersConfigDump').dynamic_listeners[0].active_state.listener.filter_chains).toBe(first.filter_chains);
    port = 15002;
    const moved = byType(v.dump(false), 'ListenersConfigDump').dynamic_listeners[0].active_state.listener;
    expect(moved.name).toBe('outbound_15002');
  });
});

// Envoy's own schema, read from Envoy's .proto files: every field of the dump, /server_info and
// /listeners must be one Envoy knows, with the right type (the proto3 JSON reader refuses an
// unknown field, as protoc's does), and every Any must name a type Envoy has.
describe('the Envoy-shaped admin answers against Envoy\'s protos', () => {
  it('ConfigDump (static and dynamic, with endpoints and secrets), ServerInfo and Listeners encode as Envoy\'s messages', async () => {
    const { envoyProtos } = await import('../../host/xds/envoy-protos.js');
    const { encodeJson } = await import('../../host/xds/proto-json.js');
    const { loadConfig } = await import('../../host/config/index.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { serverInfo, envoyNode } = await import('../../host/runtime/server-info.js');
    const { listenersJson } = await import('../../host/admin/listeners-status.js');
    const { WEB_SUBSETS, webServices, webSplit } = await import('../helpers/seed-000-yaml.js');
    const root = envoyProtos();
    root.loadSync(['envoy/admin/v3/config_dump.proto', 'envoy/admin/v3/server_info.proto', 'envoy/admin/v3/listeners.proto'], { keepCase: true });
    root.resolveAll();

    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-dump-schema-'));
    try {
      writeFileSync(join(dir, 'mesh.yaml'), `${webServices({ v1: 15101, v2: 15102 })}---\n${WEB_SUBSETS}---\n${webSplit([80, 20]).replace('hosts: ["*"]\n  gateways: [web-gateway]', 'hosts: [web]')}`);
      const { mesh } = loadConfig([dir], {});
      const node = envoyNode('sidecar~127.0.0.1~app.default~default.svc.cluster.local', 'app.default', { NAMESPACE: 'default', LABELS: { app: 'app' } });
      const cert = { identity: 'spiffe://cluster.local/ns/default/sa/app', certChainPem: 'CHAIN', keyPem: 'KEY', rootsPem: 'ROOTS', notAfter: new Date() };
      for (const mode of ['static', 'dynamic'] as const) {
        const manager = { version: 3, current: { mesh }, dump: () => ({ loadedAt: '2026-01-01T00:00:00.000Z' }) } as unknown as ProxyConfigSource;
        const v = new EnvoyConfigView({
          manager, mode, node: () => node, admin: () => ({ host: '127.0.0.1', port: 15000 }), clusters: () => [],
          plan: () => ({ listens: [{ host: '127.0.0.1', port: 15001 }], inbound: { listen: { host: '127.0.0.1', port: 15006 }, appPorts: [8080], mode: 'DISABLE' } }),
          workloadCertificates: { current: () => cert, subscribe: () => () => {} },
          ...(mode === 'dynamic' ? { xds: { host: '127.0.0.1', port: 15010 } } : {}),
        });
        const dump = v.dump(true);
        expect(dump.configs).toHaveLength(7);
        expect(() => encodeJson(root, 'envoy.admin.v3.ConfigDump', dump), mode).not.toThrow();
        // Inside the Anys too: a listener with a field Envoy's Listener lacks is refused.
        const bad = JSON.parse(JSON.stringify(dump)) as { configs: Array<Record<string, any>> };
        const ld = bad.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'))!;
        (ld.static_listeners ?? ld.dynamic_listeners.map((l: Record<string, any>) => l.active_state))[0].listener.bogus_field = 1;
        expect(() => encodeJson(root, 'envoy.admin.v3.ConfigDump', bad)).toThrow(/bogus_field/);
        expect(() => encodeJson(root, 'envoy.admin.v3.Listeners', listenersJson(v.listeners()))).not.toThrow();
      }
      const info = serverInfo({ notReadyReason: null, startedAt: 0, now: 5000, concurrency: 2, logLevel: 'info', configPath: 'x', node });
      expect(() => encodeJson(root, 'envoy.admin.v3.ServerInfo', info)).not.toThrow();
      // The reader is strict: a field Envoy does not have is refused.
      expect(() => encodeJson(root, 'envoy.admin.v3.ServerInfo', { ...info, uptime: '5s' })).toThrow(/uptime/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
