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
