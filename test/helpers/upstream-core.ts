// One Core per test file for the upstream binding suites (test/core/upstream, test/router), and
// a fake clock: every policy call takes the time as a parameter, so tests move time by hand.
import { Core } from '../../host/core/wasm.js';
import { ClusterState } from '../../host/core/upstream/cluster-state.js';
import { RetryPolicies, type RetryPolicy } from '../../host/core/upstream/retry.js';
import { encodeRetryPolicy } from '../../host/compile/retry-policies.js';
import type { RetryPolicySpec } from '../../host/model/retry-policy.js';

let shared: Core | undefined;

export function core(): Core {
  shared ??= new Core();
  return shared;
}

/** A cluster state with `n` endpoints 10.0.0.1:80 … and a fixed PRNG seed. */
export function cluster(n: number, name = 'outbound|80||svc.default.svc.cluster.local', seed = 1): { cs: ClusterState; slots: Int32Array; addrs: string[] } {
  const cs = new ClusterState(core(), name, { capacity: 4, seed });
  const addrs = Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:80`);
  return { cs, slots: cs.sync(addrs), addrs };
}

/** `spec` as the data path gets it: compiled to a record (host/compile) and loaded into `c` as a one-record version. */
export function loadRetryPolicy(spec: RetryPolicySpec, c: Core = core()): { set: RetryPolicies; policy: RetryPolicy } {
  const set = RetryPolicies.load(c, encodeRetryPolicy(spec, 'test'));
  return { set, policy: set.at(0) };
}

/** A controllable clock in ms. */
export class FakeClock {
  now = 0;
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
}
