// A config version's retry policies as the core's records (the record is documented atop
// assembly/upstream/retry.ts; its layout constants are host/core/upstream/retry.ts's, checked
// against the core): one record per distinct policy and each route's record, compiled with the
// route table so that the data path only copies the bytes in (RetryPolicies.load).
import { RETRY_ON, RETRY_POLICY_MAGIC, RETRY_POLICY_SIZE, RP_BACKOFF_BASE_MS, RP_BACKOFF_MAX_MS, RP_CODE_COUNT, RP_CODES, RP_MAGIC, RP_PER_TRY_TIMEOUT_MS, RP_RETRIES, RP_RETRY_ON } from '../core/upstream/retry.js';
import { istioDefaultRetryPolicy } from '../model/istio-defaults.js';
import type { MeshConfig } from '../model/mesh.js';
import { MAX_RETRIABLE_CODES, type RetryPolicySpec } from '../model/retry-policy.js';
import { RouteCompileError } from './route-compile-error.js';

export interface CompiledRetryPolicies {
  /** RETRY_POLICY_SIZE-byte records, one per distinct policy, in order of first use. */
  records: Uint8Array;
  /** Route index (virtualHosts[*].routes flattened, the route table's order) → record index. */
  routeRecord: Uint32Array;
}

/**
 * One policy as a record. Checks only what the record can hold (every field a u32, at most
 * MAX_RETRIABLE_CODES codes); whether the values make sense (0 < backoff base <= max, …) is
 * the core's check when the record is loaded. `route` names the route in errors.
 */
export function encodeRetryPolicy(spec: RetryPolicySpec, route: string): Uint8Array {
  if (spec.retriableStatusCodes.length > MAX_RETRIABLE_CODES) {
    throw new RouteCompileError('invalid_retry_policy', route, 'retry.retriableStatusCodes', `route ${route}: retry.retriableStatusCodes holds ${spec.retriableStatusCodes.length} codes; a retry policy holds at most ${MAX_RETRIABLE_CODES}`);
  }
  const fields: Array<[string, number]> = [
    ['retries', spec.retries], ['perTryTimeoutMs', spec.perTryTimeoutMs], ['backoffBaseMs', spec.backoffBaseMs], ['backoffMaxMs', spec.backoffMaxMs],
    ...spec.retriableStatusCodes.map((c, i): [string, number] => [`retriableStatusCodes[${i}]`, c]),
  ];
  for (const [field, v] of fields) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RouteCompileError('invalid_retry_policy', route, `retry.${field}`, `route ${route}: retry.${field} ${v} is not an integer from 0 to 2^32-1`);
    }
  }
  let bits = 0;
  for (const name of spec.retryOn) bits |= RETRY_ON[name];
  const record = new Uint8Array(RETRY_POLICY_SIZE);
  const dv = new DataView(record.buffer);
  dv.setUint32(RP_MAGIC, RETRY_POLICY_MAGIC, true);
  dv.setUint32(RP_RETRIES, spec.retries, true);
  dv.setUint32(RP_RETRY_ON, bits >>> 0, true);
  dv.setUint32(RP_PER_TRY_TIMEOUT_MS, spec.perTryTimeoutMs, true);
  dv.setUint32(RP_BACKOFF_BASE_MS, spec.backoffBaseMs, true);
  dv.setUint32(RP_BACKOFF_MAX_MS, spec.backoffMaxMs, true);
  dv.setUint32(RP_CODE_COUNT, spec.retriableStatusCodes.length, true);
  spec.retriableStatusCodes.forEach((c, i) => dv.setUint32(RP_CODES + i * 4, c, true));
  return record;
}

/** Every route's retry policy of `mesh` (Istio's default for a route without `retry`), identical ones sharing a record. */
export function compileRetryPolicies(mesh: MeshConfig): CompiledRetryPolicies {
  const routes = mesh.virtualHosts.flatMap((vh) => vh.routes);
  const routeRecord = new Uint32Array(routes.length);
  const records: Uint8Array[] = [];
  const byBytes = new Map<string, number>();
  let defaultRecord = -1;
  routes.forEach((r, i) => {
    if (r.retry === undefined && defaultRecord >= 0) {
      routeRecord[i] = defaultRecord;
      return;
    }
    const record = encodeRetryPolicy(r.retry ?? istioDefaultRetryPolicy(), r.name);
    const key = record.join(',');
    let at = byBytes.get(key);
    if (at === undefined) {
      at = records.length;
      records.push(record);
      byBytes.set(key, at);
    }
    routeRecord[i] = at;
    if (r.retry === undefined) defaultRecord = at;
  });
  const bytes = new Uint8Array(records.length * RETRY_POLICY_SIZE);
  records.forEach((r, i) => bytes.set(r, i * RETRY_POLICY_SIZE));
  return { records: bytes, routeRecord };
}
