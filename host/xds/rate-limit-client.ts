// A client of Envoy's rate limit service protocol (envoy.service.ratelimit.v3.RateLimitService,
// unary ShouldRateLimit over gRPC), so the reference ratelimit service (envoyproxy/ratelimit) or
// any server of that protocol decides a RateLimitPolicy's global limits. Messages are encoded
// and decoded by protobufjs from Envoy's rls.proto (envoy-protos.ts), over @grpc/grpc-js: one
// channel per service, reused by every config version that names it.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { envoyProtos } from './envoy-protos.js';

export const SHOULD_RATE_LIMIT = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

/** One descriptor: its entries, in order. */
export type RateLimitDescriptor = ReadonlyArray<readonly [key: string, value: string]>;

/** One status of the answer (per descriptor, in order), for the x-ratelimit-* headers. */
export interface DescriptorStatus {
  readonly code: number;
  readonly requestsPerUnit: number | null;
  /** The limit's window in seconds (SECOND 1 … YEAR), null when the service gave no limit. */
  readonly windowSeconds: number | null;
  readonly name: string;
  readonly remaining: number;
  readonly resetSeconds: number;
}

export type RateLimitAnswer =
  | {
      readonly kind: 'ok' | 'over_limit';
      readonly statuses: readonly DescriptorStatus[];
      readonly responseHeaders: ReadonlyArray<readonly [string, string]>;
      readonly requestHeaders: ReadonlyArray<readonly [string, string]>;
      readonly body: string;
    }
  | { readonly kind: 'error'; readonly reason: string };

/** RateLimitResponse.Code OVER_LIMIT. */
const OVER_LIMIT = 2;
/** RateLimitResponse.RateLimit.Unit → seconds (Envoy's XRateLimitHeaderUtils::convertRateLimitUnit). */
const UNIT_SECONDS: Readonly<Record<number, number>> = { 1: 1, 2: 60, 3: 3600, 4: 86_400, 5: 2_592_000, 6: 31_536_000, 7: 604_800 };

interface Codec {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

let codec: Codec | null = null;

function codecOf(): Codec {
  if (codec === null) {
    const root = envoyProtos();
    codec = { request: root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest'), response: root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse') };
  }
  return codec;
}

/** The service's protos, for servers in tests (the same encoding as the client's). */
export function rateLimitMessageTypes(): Codec {
  return codecOf();
}

type Plain = Record<string, unknown>;

function headersOf(list: unknown): Array<readonly [string, string]> {
  return ((list as Plain[] | undefined) ?? []).map((h) => [String(h['key'] ?? '').toLowerCase(), String(h['value'] ?? '')] as const).filter(([k]) => k !== '');
}

/** Decodes a RateLimitResponse into what the filter acts on. */
export function answerOf(bytes: Uint8Array): RateLimitAnswer {
  const { response } = codecOf();
  const msg = response.toObject(response.decode(bytes), { longs: Number, enums: Number, defaults: true, bytes: String }) as Plain;
  const statuses = ((msg['statuses'] as Plain[] | undefined) ?? []).map((s): DescriptorStatus => {
    const limit = s['current_limit'] as Plain | null | undefined;
    const reset = s['duration_until_reset'] as Plain | null | undefined;
    return {
      code: Number(s['code'] ?? 0),
      requestsPerUnit: limit ? Number(limit['requests_per_unit'] ?? 0) : null,
      windowSeconds: limit ? (UNIT_SECONDS[Number(limit['unit'] ?? 0)] ?? null) : null,
      name: limit ? String(limit['name'] ?? '') : '',
      remaining: Number(s['limit_remaining'] ?? 0),
      resetSeconds: reset ? Number(reset['seconds'] ?? 0) : 0,
    };
  });
  const raw = msg['raw_body'];
  return {
    // Envoy takes anything but OVER_LIMIT (UNKNOWN included) as OK.
    kind: Number(msg['overall_code'] ?? 0) === OVER_LIMIT ? 'over_limit' : 'ok',
    statuses,
    responseHeaders: headersOf(msg['response_headers_to_add']),
    requestHeaders: headersOf(msg['request_headers_to_add']),
    body: typeof raw === 'string' && raw !== '' ? Buffer.from(raw, 'base64').toString() : '',
  };
}

/** Encodes a RateLimitRequest for `domain` and `descriptors` (hits_addend 0: one hit). */
export function encodeRequest(domain: string, descriptors: readonly RateLimitDescriptor[]): Buffer {
  const { request } = codecOf();
  const msg = request.fromObject({ domain, descriptors: descriptors.map((d) => ({ entries: d.map(([key, value]) => ({ key, value })) })) });
  return Buffer.from(request.encode(msg).finish());
}

/** One rate limit service's channel. */
export class RateLimitClient {
  readonly target: string;
  readonly #client: Client;

  constructor(host: string, port: number) {
    this.target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#client = new Client(this.target, credentials.createInsecure());
  }

  /**
   * Asks whether the request with `descriptors` is over the limit; `done` is called exactly
   * once, asynchronously, with the answer or an error (the deadline passed, the service is down
   * or answered garbage). The returned function cancels a pending call (done is not called).
   */
  shouldRateLimit(domain: string, descriptors: readonly RateLimitDescriptor[], timeoutMs: number, done: (answer: RateLimitAnswer) => void): () => void {
    let settled = false;
    const call = this.#client.makeUnaryRequest<Buffer, RateLimitAnswer>(
      SHOULD_RATE_LIMIT,
      (b) => b,
      (bytes) => answerOf(bytes),
      encodeRequest(domain, descriptors),
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, answer?: RateLimitAnswer) => {
        if (settled) return;
        settled = true;
        done(err !== null || answer === undefined ? { kind: 'error', reason: err?.details || err?.message || 'no answer' } : answer);
      },
    );
    return () => {
      if (settled) return;
      settled = true;
      call.cancel();
    };
  }

  close(): void {
    this.#client.close();
  }
}

/** The channels of one proxy, one per service address, kept while the proxy runs. */
export class RateLimitClients {
  readonly #clients = new Map<string, RateLimitClient>();

  of(host: string, port: number): RateLimitClient {
    const key = `${host}|${port}`;
    let c = this.#clients.get(key);
    if (c === undefined) {
      c = new RateLimitClient(host, port);
      this.#clients.set(key, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
