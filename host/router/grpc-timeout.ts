// gRPC's own deadline (the grpc-timeout request header, gRPC over HTTP/2 spec: 1–8 digits and a
// unit H M S m u n) as the router's timeout. Istio sets Envoy's grpc_timeout_header_max to the
// route timeout (0, no route timeout: no cap), so a request's deadline applies, capped by the
// route's timeout when it has one.

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The header's value in ms, or -1 when absent or malformed (then ignored, as Envoy does). */
export function parseGrpcTimeout(value: string): number {
  const v = value.trim();
  if (v.length < 2 || v.length > 9) return -1;
  const unit = UNIT_MS[v[v.length - 1]!];
  const digits = v.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return -1;
  // Sub-millisecond deadlines round up: a 0 ms timer would mean "no timeout" to the router.
  return Math.max(1, Math.ceil(Number(digits) * unit));
}

/** The timeout for a request with flat `headers` and the route timeout `routeMs` (0: none). */
export function grpcTimeoutMs(headers: readonly string[], routeMs: number): number {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'grpc-timeout') continue;
    const ms = parseGrpcTimeout(headers[i + 1]!);
    if (ms < 0) return routeMs;
    return routeMs > 0 ? Math.min(ms, routeMs) : ms;
  }
  return routeMs;
}
