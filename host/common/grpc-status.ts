// gRPC status codes as the proxy reads and writes them (Envoy's Grpc::Common / Grpc::Utility):
// whether a request is gRPC (its content-type), a status from a grpc-status field, the status
// inferred from an HTTP code when a response carries none (the table of gRPC's
// http-grpc-status-mapping.md, Envoy's httpToGrpcStatus), and the names %GRPC_STATUS% prints.
// In common: the access-log format, the telemetry labels and the HTTP stream all read it.

/** Status codes by name (gRPC's canonical codes). */
export const enum GrpcStatus {
  Ok = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** Envoy's CAMEL_STRING names (%GRPC_STATUS%'s default), indexed by code. */
export const GRPC_STATUS_CAMEL: readonly string[] = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
];

/** Envoy's SNAKE_STRING names (%GRPC_STATUS(SNAKE_STRING)%), indexed by code. */
export const GRPC_STATUS_SNAKE: readonly string[] = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
];

/**
 * Whether a request's content-type makes it gRPC (Envoy's hasGrpcContentType):
 * `application/grpc`, or that followed by `+` (a codec: `+proto`, `+json`) or `;` (parameters).
 * `application/grpc-web…` is not gRPC: the grpc-web filter translates it first.
 */
export function isGrpcContentType(contentType: string | null): boolean {
  // Read on every request: compared in place, nothing allocated.
  if (contentType === null || !startsWithLower(contentType, GRPC)) return false;
  if (contentType.length === GRPC.length) return true;
  const next = contentType.charCodeAt(GRPC.length);
  return next === 0x2b /* + */ || next === 0x3b /* ; */;
}

const GRPC = 'application/grpc';

/** Whether `text` starts with `lower` (lower-case ASCII), ASCII letters compared in any case. */
export function startsWithLower(text: string, lower: string): boolean {
  if (text.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The gRPC status for an HTTP status when the response has no grpc-status (Envoy's httpToGrpcStatus). */
export function httpToGrpcStatus(code: number): GrpcStatus {
  switch (code) {
    case 400: return GrpcStatus.Internal;
    case 401: return GrpcStatus.Unauthenticated;
    case 403: return GrpcStatus.PermissionDenied;
    case 404: return GrpcStatus.Unimplemented;
    case 429: case 502: case 503: case 504: return GrpcStatus.Unavailable;
    default: return GrpcStatus.Unknown;
  }
}

/** A grpc-status field's value as a code; -1 when it is not a non-negative integer. */
export function parseGrpcStatus(value: string | null | undefined): number {
  if (value === null || value === undefined || value.length === 0 || value.length > 9) return -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  return Number(value);
}

/** parseGrpcStatus for the value bytes[from, to) (ASCII digits), with no string made. */
export function parseGrpcStatusBytes(bytes: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n <= 0 || n > 9) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** The grpc-status in a flat trailer list (name, value, …; names in any case); -1 when none. */
export function grpcStatusOfTrailers(trailers: readonly string[] | undefined): number {
  if (trailers === undefined) return -1;
  for (let i = 0; i + 1 < trailers.length; i += 2) {
    const n = trailers[i]!;
    if (n.length === 11 && n.toLowerCase() === 'grpc-status') return parseGrpcStatus(trailers[i + 1]);
  }
  return -1;
}

/**
 * grpc-message's encoding (gRPC's PROTOCOL-HTTP2: percent-encoding of every byte outside
 * printable ASCII, and of `%`), over the UTF-8 bytes of `text`.
 */
export function percentEncodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}
