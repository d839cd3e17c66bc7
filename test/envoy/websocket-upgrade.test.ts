// The connection manager's WebSocket fields (host/envoy/websocket-upgrade.ts) on every HCM the
// translation writes: allow_connect for RFC 8441 clients, and the websocket upgrade's own filter
// chain — the listener's filters (the wasm filters too, with --filters), the Sec-WebSocket-Key
// mutation before the router. Traffic on both planes: test/interop/websocket-planes.test.ts.
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { RFC8441_WEBSOCKET_KEY, websocketUpgradeFields } from '../../host/envoy/websocket-upgrade.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { loadYaml } from './protocol-fixtures.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const names = (filters: any[]): string[] => filters.map((f) => f.name);
const hcmOf = (listener: any): any => listener.filter_chains[0].filters[0].typed_config;

describe('websocketUpgradeFields', () => {
  it('the upgrade chain is the listener\'s filters with the key mutation before the router; allow_connect on', () => {
    const router = { name: 'envoy.filters.http.router' };
    const f = websocketUpgradeFields([{ name: 'a' }, { name: 'b' }, router]) as any;
    expect(f.http2_protocol_options).toEqual({ allow_connect: true });
    expect(f.upgrade_configs).toHaveLength(1);
    expect(f.upgrade_configs[0].upgrade_type).toBe('websocket');
    expect(names(f.upgrade_configs[0].filters)).toEqual(['a', 'b', 'envoy.filters.http.header_mutation', 'envoy.filters.http.router']);
    expect(f.upgrade_configs[0].filters[2].typed_config.mutations.request_mutations).toEqual([
      { append: { header: { key: 'sec-websocket-key', value: RFC8441_WEBSOCKET_KEY }, append_action: 'ADD_IF_ABSENT' } },
    ]);
    // RFC 6455: 16 bytes, base64.
    expect(Buffer.from(RFC8441_WEBSOCKET_KEY, 'base64')).toHaveLength(16);
  });

  const loaded = loadYaml({ 's.yaml': webServices({ v1: 15101 }) });
  const opts = { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } };

  it('on the mesh\'s HCM, the sidecar\'s virtualInbound and the --filters HCM (whose chain has the wasm filters)', () => {
    const mesh = hcmOf((envoyBootstrap(loaded, opts).config as any).static_resources.listeners[0]);
    expect(mesh.http2_protocol_options).toEqual({ allow_connect: true });
    expect(names(mesh.upgrade_configs[0].filters)).toEqual([...names(mesh.http_filters).slice(0, -1), 'envoy.filters.http.header_mutation', 'envoy.filters.http.router']);
    const inbound = hcmOf(envoyInbound({ listen: { host: '0.0.0.0', port: 15006 }, appPorts: [5005], mode: 'DISABLE' }).listener);
    expect(inbound.http2_protocol_options).toEqual({ allow_connect: true });
    expect(names(inbound.upgrade_configs[0].filters).at(-2)).toBe('envoy.filters.http.header_mutation');
    const filters = hcmOf((envoyFiltersBootstrap(loaded, { ...opts, wasmPath: '/nonexistent/wasmesh-filters.wasm' }).config as any).static_resources.listeners[0]);
    expect(names(filters.upgrade_configs[0].filters)).toEqual([...names(filters.http_filters).slice(0, -1), 'envoy.filters.http.header_mutation', 'envoy.filters.http.router']);
    expect(names(filters.http_filters).some((n) => n.includes('wasm') || n.includes('wasmesh'))).toBe(true);
  });
});
