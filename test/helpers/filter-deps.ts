// The FilterDeps (host/server/http-filters.ts) a server gives its config versions, for tests of
// the filter chain as data: stats, fault dice, rate limiters and a router with no clusters (the
// chain is built, never run against an upstream); no access log, tracing or Istio stats.
import type { Core } from '../../host/core/wasm.js';
import { FaultDice } from '../../host/core/fault/fault.js';
import { LocalRateLimiter } from '../../host/core/ratelimit/local-rate-limiter.js';
import { Stats } from '../../host/telemetry/stats.js';
import { Random } from '../../host/common/random.js';
import { resolveLimits } from '../../host/common/limits.js';
import { DeadlineQueue } from '../../host/common/deadline-queue.js';
import { RouterPool } from '../../host/router/router-pool.js';
import type { FilterDeps } from '../../host/server/http-filters.js';
import { RateLimitClients } from '../../host/xds/rate-limit-client.js';

export function filterDeps(core: Core, listenerPort: number): FilterDeps {
  return {
    stats: new Stats().downstream,
    faults: new FaultDice(core, 1),
    localRateLimiter: new LocalRateLimiter(core),
    rateLimitClients: new RateLimitClients(),
    router: { clusters: null as never, limits: resolveLimits(), rng: new Random(1), writeHead: () => new Uint8Array(), deadlines: new DeadlineQueue(), routers: new RouterPool() },
    listenerPort: () => listenerPort,
    accessLog: undefined,
  };
}
