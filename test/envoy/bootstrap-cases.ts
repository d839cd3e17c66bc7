// The translation inputs the Envoy tests share: each case is checked structurally by
// bootstrap.test.ts and fed to the real `envoy --mode validate` by envoy-validate.test.ts.
import type { EnvoyBootstrapOptions, LoadedMesh } from '../../host/envoy/bootstrap.js';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { dest, hashCluster, match, ops, policy, route, seed000Resources, seed000Split, WEB, webCluster } from '../helpers/mesh-fixtures.js';

import { ISTIO_DEFAULT_JSON_LABELS, ISTIO_DEFAULT_TEXT_FORMAT } from '../../host/common/access-log-format.js';

export interface BootstrapCase {
  loaded: LoadedMesh;
  opts: EnvoyBootstrapOptions;
}

const listen = { host: '127.0.0.1', port: 18080 };
const admin = { host: '127.0.0.1', port: 18081 };
const v1 = webCluster('v1', 15101);
const v2 = webCluster('v2', 15102);
const ring = hashCluster('ring', 15111, { httpHeaderName: 'X-User', ringHash: { minimumRingSize: 4096 } });
const maglev = hashCluster('maglev', 15112, { httpHeaderName: 'x-user', maglev: { tableSize: 65537 } });
const cookie = hashCluster('cookie', 15113, { httpCookie: { name: 'session', path: '/', ttl: '60s', attributes: [{ name: 'SameSite', value: 'Strict' }, { name: 'Secure' }] } });
const sourceIp = hashCluster('ip', 15114, { useSourceIp: true });
const noKey = hashCluster('nokey', 15115, { httpQueryParameterName: 'user', minimumRingSize: 64 });
noKey.policy!.hash!.key = { kind: 'none' };
const passthrough = webCluster('pass', 1, { lb: 'PASSTHROUGH', endpoints: [] });

const JWT_RULE_BASE = { source: 'istio-system/jwt', audiences: [], fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }], fromParams: ['access_token'], fromCookies: [], outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 5000 };

export const cases: Record<string, BootstrapCase> = {
  // meshConfig / Telemetry access logs: Istio's default TEXT format to stdout, JSON labels with a response.code filter.
  accessLogs: {
    loaded: {
      mesh: {
        ...seed000Split(),
        accessLogs: [
          { provider: 'envoy', path: '/dev/stdout', encoding: 'TEXT', format: ISTIO_DEFAULT_TEXT_FORMAT.slice(0, -1) },
          { provider: 'json', path: '/dev/stderr', encoding: 'JSON', labels: { ...ISTIO_DEFAULT_JSON_LABELS }, filter: { op: '!=', value: 200 } },
        ],
      },
      resources: seed000Resources,
      warnings: [],
    },
    opts: { listen, admin },
  },
  // Telemetry API tracing: Zipkin by address with every kind of custom tag, OTLP/HTTP by DNS name.
  tracingZipkin: {
    loaded: {
      mesh: {
        ...seed000Split(),
        tracing: {
          provider: { name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port: 19411, path: '/api/v2/spans', maxTagLength: 256 },
          samplingPercentage: 12.5,
          customTags: [{ tag: 'team', kind: 'literal', value: 'web' }, { tag: 'region', kind: 'environment', name: 'REGION', defaultValue: 'eu' }, { tag: 'user', kind: 'header', name: 'x-user', defaultValue: null }],
          disableSpanReporting: false,
        },
      },
      resources: seed000Resources,
      warnings: [],
    },
    opts: { listen, admin },
  },
  tracingOtel: {
    loaded: {
      mesh: {
        ...seed000Split(),
        tracing: {
          provider: { name: 'otel', kind: 'opentelemetry', service: 'otel-collector.observability.svc.cluster.local', port: 4318, path: '/v1/traces', maxTagLength: 100 },
          samplingPercentage: 1,
          customTags: [],
          disableSpanReporting: false,
        },
      },
      resources: seed000Resources,
      warnings: [],
    },
    opts: { listen, admin },
  },
  // RequestAuthentication at the gateway: remote (https by DNS, http by address) and inline keys.
  jwtAuthn: {
    loaded: {
      mesh: {
        ...seed000Split(),
        jwtRules: [
          { ...JWT_RULE_BASE, issuer: 'https://accounts.example.com', audiences: ['api'], jwksUri: 'https://accounts.example.com/.well-known/jwks.json', jwks: null, outputPayloadToHeader: 'x-jwt-payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] },
          { ...JWT_RULE_BASE, issuer: 'local', jwksUri: 'http://127.0.0.1:15999/jwks', jwks: null, fromHeaders: [{ name: 'x-token', prefix: '' }], fromParams: [], fromCookies: ['session'], forwardOriginalToken: true },
          { ...JWT_RULE_BASE, issuer: 'inline', jwksUri: null, jwks: '{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k","alg":"ES256"}]}' },
        ],
      },
      resources: seed000Resources,
      warnings: [],
    },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

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
            route('default/web/explicit', [dest(v1.name)], {
              timeoutMs: 1500, matches: [match({ uri: { kind: 'prefix', value: '/a' } })],
              retry: retryPolicyFromIstio({ attempts: 3, perTryTimeout: '500ms', retryOn: 'gateway-error,connect-failure', backoff: '40ms' }),
            }),
            route('default/web/off', [dest(v1.name)], { timeoutMs: 250, matches: [match({ uri: { kind: 'prefix', value: '/b' } })], retry: retryPolicyFromIstio({ attempts: 0 }) }),
            route('default/web/codes', [dest(v1.name)], { matches: [match({ uri: { kind: 'prefix', value: '/c' } })], retry: retryPolicyFromIstio({ attempts: 4, retryOn: '502,503,reset' }) }),
            route('default/web/3', [dest(v2.name)], { retry: retryPolicyFromIstio(undefined) }),
            route('default/web/4', [dest(v2.name)]),
          ],
        }],
        clusters: [v1, v2],
      },
    },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

  matching: {
    loaded: {
      mesh: {
        virtualHosts: [{
          name: 'web-gateway/*', domains: ['*'], routes: [
            route('default/web/method', [dest(v1.name)], {
              matches: [
                match({ method: { kind: 'exact', value: 'POST' }, authority: { kind: 'prefix', value: 'api.' }, scheme: { kind: 'exact', value: 'http' } }),
                match({ method: { kind: 'regex', value: 'PUT|PATCH' } }),
              ],
            }),
            route('default/web/query', [dest(v2.name)], {
              matches: [match({
                uri: { kind: 'regex', value: '/items/[0-9]+' }, ignoreUriCase: true,
                queryParams: [{ name: 'debug', match: null }, { name: 'v', match: { kind: 'exact', value: '2' } }, { name: 'q', match: { kind: 'regex', value: 'a.*' } }],
              })],
            }),
            route('default/web/ports', [dest(v2.name)], { matches: [match({ port: 18080 }), match({ port: 9443, uri: { kind: 'prefix', value: '/Admin' }, ignoreUriCase: true })] }),
            route('default/web/rest', [dest(v1.name)]),
          ],
        }],
        clusters: [v1, v2],
      },
    },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

  routeActions: {
    loaded: {
      mesh: {
        virtualHosts: [{
          name: 'web-gateway/*', domains: ['*'], routes: [
            route('default/web/rewrite', [dest(v1.name)], { matches: [match({ uri: { kind: 'prefix', value: '/old' } })], rewrite: { uri: '/new', authority: 'web.internal' } }),
            route('default/web/regex-rewrite', [dest(v1.name)], {
              matches: [match({ uri: { kind: 'prefix', value: '/r/' } })],
              rewrite: { uriRegex: { match: '^/r/([^/]+)/(.*)$', rewrite: '/\\2/\\1' } },
            }),
            route('default/web/redirect', [], { matches: [match({ uri: { kind: 'exact', value: '/moved' } })], redirect: { uri: '/here', authority: 'new.example.com', redirectCode: 302 } }),
            route('default/web/redirect-port', [], { matches: [match({ uri: { kind: 'exact', value: '/port' } })], redirect: { scheme: 'HTTPS', port: 8443, redirectCode: 301 } }),
            route('default/web/redirect-derive', [], { matches: [match({ uri: { kind: 'exact', value: '/derive' } })], redirect: { derivePort: 'FROM_REQUEST_PORT', redirectCode: 308 } }),
            route('default/web/redirect-odd', [], { matches: [match({ uri: { kind: 'exact', value: '/odd' } })], redirect: { uri: '/x', port: 80, redirectCode: 304 } }),
            route('default/web/direct', [], {
              matches: [match({ uri: { kind: 'exact', value: '/teapot' } })], directResponse: { status: 418, body: 'short and stout' },
              responseHeaders: ops({ set: [['x-direct', '1']] }),
            }),
            route('default/web/big', [], { matches: [match({ uri: { kind: 'exact', value: '/big' } })], directResponse: { status: 200, body: 'x'.repeat(5000) } }),
            route('default/web/empty', [], { matches: [match({ uri: { kind: 'exact', value: '/empty' } })], directResponse: { status: 204, body: null } }),
            route('default/web/fault', [dest(v1.name)], {
              matches: [match({ uri: { kind: 'prefix', value: '/fault' } })],
              fault: { delay: { fixedDelayMs: 250, percentage: 12.5 }, abort: { httpStatus: 503, percentage: 0.0001 } },
            }),
            route('default/web/cors', [dest(v1.name), dest(v2.name, 0)], {
              matches: [match({ uri: { kind: 'prefix', value: '/cors' } })],
              cors: {
                allowOrigins: [{ kind: 'exact', value: 'https://a.example' }, { kind: 'regex', value: 'https://.*\\.b\\.example' }],
                allowMethods: ['GET', 'POST'], allowHeaders: ['x-a', 'x-b'], exposeHeaders: ['x-c'], maxAgeSeconds: 86400, allowCredentials: true, unmatchedPreflights: 'IGNORE',
              },
            }),
            route('default/web/mirror', [dest(v1.name)], {
              matches: [match({ uri: { kind: 'prefix', value: '/mirror' } })],
              mirrors: [{ cluster: v2.name, percentage: 100 }, { cluster: v1.name, percentage: 33.3 }],
            }),
            route('default/web/both', [dest(v1.name)], {
              fault: { delay: null, abort: { httpStatus: 500, percentage: 50 } },
              cors: { allowOrigins: [], allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: null, allowCredentials: null, unmatchedPreflights: 'FORWARD' },
            }),
          ],
        }],
        clusters: [v1, v2],
      },
    },
    opts: { listen, admin, gateway: 'web-gateway' },
  },

  loadBalancers: {
    loaded: {
      mesh: {
        virtualHosts: [{
          name: 'mesh', domains: ['web'], routes: [
            route('default/web/ring', [dest(ring.name)], { matches: [match({ uri: { kind: 'prefix', value: '/ring' } })] }),
            route('default/web/maglev', [dest(maglev.name, 50), dest(cookie.name, 50)], { matches: [match({ uri: { kind: 'prefix', value: '/maglev' } })] }),
            route('default/web/cookie', [dest(cookie.name, 90), dest(v1.name, 10)], { matches: [match({ uri: { kind: 'prefix', value: '/cookie' } })] }),
            route('default/web/ip', [dest(sourceIp.name)], { matches: [match({ uri: { kind: 'prefix', value: '/ip' } })] }),
            route('default/web/nokey', [dest(noKey.name)], { matches: [match({ uri: { kind: 'prefix', value: '/nokey' } })] }),
            route('default/web/pass', [dest(passthrough.name)]),
          ],
        }],
        clusters: [ring, maglev, cookie, sourceIp, noKey, passthrough, v1],
      },
    },
    opts: { listen, admin },
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
          {
            ...v1, lb: 'LEAST_REQUEST', endpoints: [...v1.endpoints, { address: '127.0.0.2', port: 15103, labels: { version: 'v1' }, weight: 3 }],
            policy: policy({
              connectionPool: { tcp: { maxConnections: 100, connectTimeout: '250ms', tcpKeepalive: { probes: 3, time: '7200s', interval: '75s' } }, http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 50, idleTimeout: '30s' } },
              outlierDetection: { consecutiveGatewayErrors: 2, minHealthPercent: 25 },
            }),
          },
          { ...v2, lb: 'RANDOM', policy: policy({ connectionPool: { http: { http2MaxRequests: 7, maxRetries: 2 } }, outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3 } }) },
          { name: `outbound|5005||${WEB}`, host: WEB, port: 5005, subset: null, endpoints: [{ address: 'localhost', port: 15104, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN', policy: policy({ connectionPool: { http: { idleTimeout: '0s' }, tcp: { tcpKeepalive: { time: '1500ms' } } } }) },
        ],
      },
      warnings: ['loader: example warning passed through'],
    },
    opts: { listen: { host: '0.0.0.0', port: 18090 }, admin, gateway: 'istio-system/web-gateway', namespace: 'default' },
  },
};
