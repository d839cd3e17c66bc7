// Metrics (spec: "Metrics"): counters defined by name, incremented by id. Envoy shows them in
// its admin /stats (as `wasmcustom.<name>`).
import { MetricType } from './abi-types';
import { outA, readA } from './out';

// proxy_define_metric(metric_type, name_data, name_size, return_metric_id) → status
// OK; BAD_ARGUMENT (unknown type); INVALID_MEMORY_ACCESS.
@external("env", "proxy_define_metric")
declare function proxy_define_metric(type: u32, name: usize, nameSize: usize, returnId: usize): u32;

let definedId: u32 = 0;

/** Defines a metric; on Ok, definedMetricId() is its id. */
export function defineMetric(type: MetricType, name: usize, nameSize: usize): u32 {
  store<u32>(outA(), 0);
  const status = proxy_define_metric(<u32>type, name, nameSize, outA());
  definedId = readA();
  return status;
}

export function definedMetricId(): u32 {
  return definedId;
}

// proxy_increment_metric(metric_id, delta) → status
// OK; NOT_FOUND (unknown id); BAD_ARGUMENT (e.g. decrementing a counter).
@external("env", "proxy_increment_metric")
declare function proxy_increment_metric(id: u32, delta: i64): u32;

export function incrementMetric(id: u32, delta: i64): u32 {
  return proxy_increment_metric(id, delta);
}

// proxy_record_metric(metric_id, value) → status
// OK; NOT_FOUND.
@external("env", "proxy_record_metric")
declare function proxy_record_metric(id: u32, value: u64): u32;

export function recordMetric(id: u32, value: u64): u32 {
  return proxy_record_metric(id, value);
}
