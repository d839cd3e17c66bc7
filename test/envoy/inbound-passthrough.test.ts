// An Envoy sidecar's inbound behind iptables capture (host/envoy/inbound-passthrough.ts with
// inbound-listener.ts's originalDestinations): original_dst first, the HTTP chains once per app
// port and for the inbound port (destination_port), every other port to InboundPassthroughCluster
// (ORIGINAL_DST from 127.0.0.6) behind the PeerAuthentication mode, Envoy's RBAC network filter
// on the passthrough under an AuthorizationPolicy, TPROXY transparent, port 0 refused; split for xDS with the HTTP
// route table served once, and accepted by the real Envoy's validation. Real packets:
// test/sidecar/sidecar-inbound-passthrough-netns.test.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { INBOUND_PASSTHROUGH_CLUSTER } from '../../host/envoy/inbound-passthrough.js';
import { sdsCluster } from '../../host/envoy/sds-config.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { jsonAt, jsonList } from '../helpers/envoy-json.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const listen = { host: '0.0.0.0', port: 15006 };
type Mode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
const behind = (mode: Mode, more: Record<string, unknown> = {}) => envoyInbound({ listen, appPorts: [5005, 8080], mode, originalDestinations: { transparent: false }, ...more });
const row = (c: any): unknown[] => [c.filter_chain_match, c.transport_socket !== undefined, c.filters[0].name, c.filters[0].typed_config.cluster];
const HCM = 'envoy.filters.network.http_connection_manager';
const TCP = 'envoy.filters.network.tcp_proxy';
/** Mesh TLS offering an HTTP ALPN takes the HTTP chain; any other, Istio's TCP chain to the port's inbound cluster (inbound-tcp-chain.ts). */
const HTTP_ALPN = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2', 'http/1.0', 'http/1.1', 'h2'];

describe('envoyInbound behind iptables capture: Istio\'s virtualInbound with InboundPassthroughCluster', () => {
  it('DISABLE: original_dst, the HTTP chain per app port and for 15006, any other port passed through', () => {
    const { listener, clusters } = behind('DISABLE');
    expect(jsonList(listener, 'listener_filters').map((f) => f.name)).toEqual(['envoy.filters.listener.original_dst']);
    expect(listener.transparent).toBeUndefined();
    expect(jsonList(listener, 'filter_chains').map(row)).toEqual([
      [{ destination_port: 5005 }, false, HCM, undefined],
      [{ destination_port: 8080 }, false, HCM, undefined],
      [{ destination_port: 15006 }, false, HCM, undefined],
      [undefined, false, TCP, INBOUND_PASSTHROUGH_CLUSTER],
    ]);
    expect(clusters.find((c: any) => c.name === INBOUND_PASSTHROUGH_CLUSTER)).toEqual({
      name: INBOUND_PASSTHROUGH_CLUSTER, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '10s',
      upstream_bind_config: {
        source_address: { address: '127.0.0.6', port_value: 0 },
        extra_source_addresses: [{ address: { address: '::6', port_value: 0 } }],
      },
    });
  });

  it('PERMISSIVE: tls_inspector after original_dst; TLS terminated (mesh mTLS) or plaintext, on app ports and passed through alike', () => {
    const { listener } = behind('PERMISSIVE');
    expect(jsonList(listener, 'listener_filters').map((f) => f.name)).toEqual(['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);
    expect(jsonList(listener, 'filter_chains').map(row)).toEqual([
      [{ destination_port: 5005, transport_protocol: 'tls', application_protocols: HTTP_ALPN }, true, HCM, undefined],
      [{ destination_port: 5005, transport_protocol: 'tls' }, true, TCP, 'inbound|5005||'],
      [{ destination_port: 5005, transport_protocol: 'raw_buffer' }, false, HCM, undefined],
      [{ destination_port: 8080, transport_protocol: 'tls', application_protocols: HTTP_ALPN }, true, HCM, undefined],
      [{ destination_port: 8080, transport_protocol: 'tls' }, true, TCP, 'inbound|8080||'],
      [{ destination_port: 8080, transport_protocol: 'raw_buffer' }, false, HCM, undefined],
      [{ destination_port: 15006, transport_protocol: 'tls', application_protocols: HTTP_ALPN }, true, HCM, undefined],
      [{ destination_port: 15006, transport_protocol: 'tls' }, true, TCP, 'inbound|5005||'],
      [{ destination_port: 15006, transport_protocol: 'raw_buffer' }, false, HCM, undefined],
      [{ transport_protocol: 'tls' }, true, TCP, INBOUND_PASSTHROUGH_CLUSTER],
      [{ transport_protocol: 'raw_buffer' }, false, TCP, INBOUND_PASSTHROUGH_CLUSTER],
    ]);
  });

  it('STRICT: mesh mTLS required on the passthrough too; TPROXY makes the listener transparent', () => {
    const { listener } = envoyInbound({ listen, appPorts: [5005], mode: 'STRICT', originalDestinations: { transparent: true } });
    expect(listener.transparent).toBe(true);
    expect(jsonList(listener, 'filter_chains').map(row)).toEqual([
      [{ destination_port: 5005, transport_protocol: 'tls', application_protocols: HTTP_ALPN }, true, HCM, undefined],
      [{ destination_port: 5005, transport_protocol: 'tls' }, true, TCP, 'inbound|5005||'],
      [{ destination_port: 15006, transport_protocol: 'tls', application_protocols: HTTP_ALPN }, true, HCM, undefined],
      [{ destination_port: 15006, transport_protocol: 'tls' }, true, TCP, 'inbound|5005||'],
      [undefined, true, TCP, INBOUND_PASSTHROUGH_CLUSTER],
    ]);
    expect(jsonAt(listener, 'filter_chains.4.transport_socket.typed_config.require_client_certificate')).toBe(true);
  });

  it('an AuthorizationPolicy selects the workload: the passthrough chains run Envoy\'s RBAC network filter (Istio\'s TCP build) before tcp_proxy; port 0 refused', () => {
    const warnings: string[] = [];
    const allowNothing: AuthzPolicy = { name: 'default/allow-nothing', action: 'ALLOW', rules: [], dryRun: false, provider: null };
    const byPrincipal: AuthzPolicy = { name: 'default/by-principal', action: 'ALLOW', dryRun: false, provider: null, rules: [
      { from: [[{ attribute: 'source.principal', values: [{ kind: 'exact', value: 'cluster.local/ns/shop/sa/client' }], notValues: [] }]], to: [], when: [] },
      // HTTP-only: left out of the TCP build (it would allow nothing on TCP).
      { from: [], to: [[{ attribute: 'request.method', values: [{ kind: 'exact', value: 'GET' }], notValues: [] }]], when: [] },
    ] };
    const denyPost: AuthzPolicy = { name: 'default/deny-post', action: 'DENY', dryRun: false, provider: null, rules: [
      { from: [], to: [[{ attribute: 'request.method', values: [{ kind: 'exact', value: 'POST' }], notValues: [] }, { attribute: 'destination.port', values: [{ kind: 'port', port: 9000 }], notValues: [] }]], when: [] },
    ] };
    const custom: AuthzPolicy = { name: 'default/ext', action: 'CUSTOM', dryRun: false, provider: 'opa', rules: [{ from: [], to: [], when: [] }] };
    const { listener } = behind('PERMISSIVE', { authorization: [allowNothing, byPrincipal, denyPost, custom], warnings });
    expect(warnings.some((w) => /closed, not passed through/.test(w))).toBe(false);
    const pass = jsonList(listener, 'filter_chains').map((c) => jsonList(c, 'filters')).filter((filters) => filters.at(-1)!.name === TCP && jsonAt(filters.at(-1), 'typed_config.cluster') === INBOUND_PASSTHROUGH_CLUSTER);
    expect(pass).toHaveLength(2);
    for (const filters of pass) {
      expect(filters.map((f) => f.name)).toEqual(['envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.rbac', TCP]);
      const [ext, deny, allow] = filters.map((f: any) => f.typed_config);
      expect(ext).toMatchObject({ stat_prefix: 'tcp.', rules: { action: 'DENY' } });
      expect(Object.keys(ext.rules.policies)).toEqual(['istio-ext-authz-opa-ns[default]-policy[ext]-rule[0]']);
      expect(deny.rules.action).toBe('DENY');
      // The method dropped: the DENY holds for any connection to port 9000.
      expect(deny.rules.policies['ns[default]-policy[deny-post]-rule[0]'].permissions).toEqual([{ and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 9000 }] } }] } }]);
      expect(allow.rules.action).toBe('ALLOW');
      expect(Object.keys(allow.rules.policies)).toEqual(['ns[default]-policy[allow-nothing]-rule[0]', 'ns[default]-policy[by-principal]-rule[0]']);
    }
    const r = envoyXdsResources({ static_resources: { listeners: [listener], clusters: [] } });
    expect(anyFromJson(envoyProtos(), TYPE_URL.listener, r.listeners[0]).value.length).toBeGreaterThan(0);
    expect(() => envoyInbound({ listen: { host: '0.0.0.0', port: 0 }, appPorts: [5005], mode: 'DISABLE', originalDestinations: { transparent: false } })).toThrow(/inbound port must be fixed/);
  });

  it('split for xDS: each HTTP route table once (shared by its per-port copies), every mode encodes as Envoy\'s Listener', () => {
    for (const mode of ['STRICT', 'PERMISSIVE', 'DISABLE'] as const) {
      const { listener, clusters } = behind(mode);
      const r = envoyXdsResources({ static_resources: { listeners: [listener], clusters } });
      expect(r.routes.length, mode).toBe(mode === 'PERMISSIVE' ? 2 : 1);
      expect(r.clusters.find((c: any) => c.name === INBOUND_PASSTHROUGH_CLUSTER)!.type).toBe('ORIGINAL_DST');
      expect(anyFromJson(envoyProtos(), TYPE_URL.listener, r.listeners[0]).value.length).toBeGreaterThan(0);
    }
  });
});

const run = promisify(execFile);
const envoy = envoyForTests('inbound-passthrough');

describe.skipIf(envoy === null)('envoy --mode validate accepts the inbound listener behind capture', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-inbound-passthrough-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const authz: AuthzPolicy[] = [
    { name: 'default/by-principal', action: 'ALLOW', dryRun: false, provider: null, rules: [{ from: [[{ attribute: 'source.principal', values: [{ kind: 'exact', value: 'cluster.local/ns/shop/sa/client' }], notValues: [] }]], to: [[{ attribute: 'request.path', values: [{ kind: 'exact', value: '/x' }], notValues: [] }]], when: [] }] },
    { name: 'default/no-ips', action: 'DENY', dryRun: false, provider: null, rules: [{ from: [[{ attribute: 'source.ip', values: [{ kind: 'cidr', address: '10.9.0.0', prefixLength: 16 }], notValues: [] }]], to: [], when: [] }] },
    { name: 'default/dry', action: 'DENY', dryRun: true, provider: null, rules: [{ from: [], to: [], when: [] }] },
  ];
  for (const [mode, authorization] of [['STRICT', undefined], ['PERMISSIVE', undefined], ['DISABLE', undefined], ['PERMISSIVE', authz]] as const) {
    it(`${mode}${authorization === undefined ? '' : ' with AuthorizationPolicy (RBAC network filters)'}`, async () => {
      const { listener, clusters } = behind(mode, authorization === undefined ? {} : { authorization });
      const config = { node: { id: 'sidecar~127.0.0.1~app.default~default.svc.cluster.local', cluster: 'app.default' }, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } }, static_resources: { listeners: [listener], clusters: [...clusters, sdsCluster(join(dir, 'socket'))] } };
      const file = join(dir, `${mode}${authorization === undefined ? '' : '-authz'}.json`);
      writeFileSync(file, JSON.stringify(config));
      const out = await run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 30_000 }).then(
        (r) => ({ ok: true, text: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }),
      );
      expect(out.ok, out.text).toBe(true);
    }, 40_000);
  }
});
