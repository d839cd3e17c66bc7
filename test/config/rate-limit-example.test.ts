// examples/000-web-demo/variants/06-rate-limits.yaml loads beside seed 000 and gives the gateway
// its proxy-wide bucket and the web routes their per-end-user buckets.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../host/config/index.js';

describe('examples/000-web-demo/variants/06-rate-limits.yaml', () => {
  it('loads with the seed as the gateway: one proxy-wide rule, the per-user rule on the web routes', () => {
    const { mesh } = loadConfig(['examples/000-web-demo/00-web-services.yaml', 'examples/000-web-demo/02-web-demo-service-gateway.yaml', 'examples/000-web-demo/variants/06-rate-limits.yaml'], { gateway: 'web-gateway' });
    expect(mesh.rateLimit!.local.map((r) => [r.name, r.bucket])).toEqual([['default/web-gateway-limits/local/gateway', { maxTokens: 100, tokensPerFill: 100, fillIntervalMs: 1000 }]]);
    const routes = mesh.virtualHosts.flatMap((vh) => vh.routes);
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) expect(r.rateLimit!.local.map((l) => [l.descriptor, l.maxDynamicDescriptors])).toEqual([[[{ kind: 'requestHeader', header: 'end-user', key: 'user' }], 1000]]);
  });
});
