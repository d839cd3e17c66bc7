// The translation inputs the Envoy tests share: each case is checked structurally by
// bootstrap.test.ts and fed to the real `envoy --mode validate` by envoy-validate.test.ts.
import type { EnvoyBootstrapOptions, LoadedMesh } from '../../host/envoy/bootstrap.js';
import { dest, match, ops, route, seed000Resources, seed000Split, WEB, webCluster } from './mesh-fixtures.js';

export interface BootstrapCase {
  loaded: LoadedMesh;
  opts: EnvoyBootstrapOptions;
}

const listen = { host: '127.0.0.1', port: 18080 };
const admin = { host: '127.0.0.1', port: 18081 };
const v1 = webCluster('v1', 15101);
const v2 = webCluster('v2', 15102);

function vs(http: unknown[], name = 'web'): unknown {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default' }, spec: { hosts: ['*'], gateways: ['web-gateway'], http } };
}
function dr(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web', namespace: 'default' }, spec: { host: 'web', ...spec } };
}

export const cases: Record<string, BootstrapCase> = {
  seed000Split: {
    loaded: { mesh: seed000Split(), resources: seed000Resources, warnings: [] },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

  headerRouting: {
    loaded: {
      mesh: {
        virtualHosts: [{
          name: 'web-gateway/*', domains: ['*'], routes: [
            route('default/web/jason', [dest(v2.name)], {
              matches: [
                match({ headers: [{ name: 'end-user', match: { kind: 'exact', value: 'jason' }, invert: false }] }),
                match({ uri: { kind: 'prefix', value: '/beta' }, headers: [{ name: 'x-canary', match: null, invert: false }] }),
              ],
            }),
            route('default/web/1', [dest(v1.name)], {
              matches: [match({
                uri: { kind: 'exact', value: '/Login' }, ignoreUriCase: true,
                headers: [
                  { name: 'user-agent', match: { kind: 'regex', value: '.*Mobile.*' }, invert: false },
                  { name: 'x-debug', match: { kind: 'prefix', value: 'on' }, invert: true },
                ],
              })],
            }),
            route('default/web/2', [dest(v1.name)]),
          ],
        }],
        clusters: [v1, v2],
      },
      resources: [vs([{ name: 'jason' }, {}, {}])],
    },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

  headerOps: {
    loaded: {
      mesh: {
        virtualHosts: [{
          name: 'mesh', domains: ['web', 'web.default.svc.cluster.local'], routes: [
            route('default/web/0', [
              dest(v1.name, 80, { requestHeaders: ops({ set: [['x-subset', 'v1']] }), responseHeaders: ops({ add: [['x-served-by', 'v1']] }) }),
              dest(v2.name, 20, { requestHeaders: ops({ set: [['x-subset', 'v2']] }), responseHeaders: ops({ remove: ['x-internal'] }) }),
            ], {
              requestHeaders: ops({ set: [['x-env', 'prod']], add: [['x-trace', 'a']], remove: ['cookie'] }),
              responseHeaders: ops({ set: [['x-frame-options', 'DENY']], remove: ['server'] }),
            }),
            route('default/web/1', [dest(v1.name, 100, { requestHeaders: ops({ add: [['x-lone', '1']] }) })], {
              requestHeaders: ops({ set: [['x-discount', '50%']] }),
              matches: [match({ uri: { kind: 'prefix', value: '/sale' } })],
            }),
          ],
        }],
        clusters: [v1, v2],
      },
      resources: [],
    },
    opts: { listen, admin },
  },

  timeoutAndRetries: {
    loaded: {
      mesh: {
        virtualHosts: [{
          name: 'web-gateway/*', domains: ['*'], routes: [
            route('default/web/explicit', [dest(v1.name)], { timeoutMs: 1500, matches: [match({ uri: { kind: 'prefix', value: '/a' } })] }),
            route('default/web/off', [dest(v1.name)], { timeoutMs: 250, matches: [match({ uri: { kind: 'prefix', value: '/b' } })] }),
            route('default/web/codes', [dest(v1.name)], { matches: [match({ uri: { kind: 'prefix', value: '/c' } })] }),
            route('default/web/3', [dest(v2.name)]),
          ],
        }],
        clusters: [v1, v2],
      },
      resources: [vs([
        { name: 'explicit', timeout: '1.5s', retries: { attempts: 3, perTryTimeout: '500ms', retryOn: 'gateway-error,connect-failure', retryIgnorePreviousHosts: false, backoff: '25ms' } },
        { name: 'off', timeout: '250ms', retries: { attempts: 0 } },
        { name: 'codes', retries: { attempts: 4, retryOn: '502,503,reset', retryRemoteLocalities: true } },
        { fault: { abort: { httpStatus: 500, percentage: { value: 1 } } } },
      ])],
    },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

  domainsWithPorts: {
    loaded: {
      mesh: {
        virtualHosts: [
          { name: 'a', domains: ['web', 'web.default.svc.cluster.local', 'WEB:5005'], routes: [route('default/a/0', [dest(v1.name)])] },
          { name: 'b', domains: ['*.example.com', 'web', 'api.example.com:8443'], routes: [route('default/b/0', [dest(v2.name)])] },
          { name: 'c', domains: ['web:5005'], routes: [route('default/c/0', [dest(v2.name)])] },
          { name: 'd', domains: ['*'], routes: [route('default/d/0', [dest(v1.name)])] },
        ],
        clusters: [v1, v2],
      },
      resources: [],
    },
    opts: { listen, admin },
  },

  destinationRulePolicies: {
    loaded: {
      mesh: {
        virtualHosts: [{ name: 'mesh', domains: ['web'], routes: [route('default/web/0', [dest(v1.name, 50), dest(v2.name, 50)])] }],
        clusters: [
          { ...v1, lb: 'LEAST_REQUEST', endpoints: [...v1.endpoints, { address: '127.0.0.2', port: 15103, labels: { version: 'v1' }, weight: 3 }] },
          { ...v2, lb: 'RANDOM' },
          { name: `outbound|5005||${WEB}`, host: WEB, port: 5005, subset: null, endpoints: [{ address: 'localhost', port: 15104, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN' },
        ],
      },
      resources: [dr({
        trafficPolicy: {
          connectionPool: { tcp: { maxConnections: 100, connectTimeout: '250ms', tcpKeepalive: { probes: 3, time: '7200s', interval: '75s' } }, http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 50, idleTimeout: '30s', h2UpgradePolicy: 'UPGRADE' } },
          outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
          loadBalancer: { simple: 'LEAST_REQUEST', warmupDurationSecs: '10s' },
          portLevelSettings: [{ port: { number: 5005 }, outlierDetection: { consecutiveGatewayErrors: 2, minHealthPercent: 25 } }],
        },
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { connectionPool: { http: { http2MaxRequests: 7, maxRetries: 2 } }, tls: { mode: 'ISTIO_MUTUAL' } } },
        ],
      })],
      warnings: ['loader: example warning passed through'],
    },
    opts: { listen: { host: '0.0.0.0', port: 18090 }, admin, gateway: 'istio-system/web-gateway', namespace: 'default' },
  },
};
