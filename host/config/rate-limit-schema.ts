// The zod schema of wasmesh's own RateLimitPolicy (policy.wasmesh.io/v1alpha1): Istio has no
// rate-limit resource, so this one is ours, shaped after Envoy's local_ratelimit and ratelimit
// filters (token bucket fields, descriptor actions, rate limit service). Strict like the Istio
// schemas, and an unknown field names the nearest known one, since nobody has this API memorised.
import { z } from 'zod';
import { parseDuration } from '../common/duration.js';
import { parseHostPort } from '../common/host-port.js';
import { duration } from './istio-schemas.js';
import { nearestName } from './nearest-name.js';

/**
 * A strict object of this API: unknown keys are `unknown_field` issues that suggest the
 * nearest field, reported beside the issues of the known fields (not instead of them).
 */
function message<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.looseObject(shape).superRefine(
    (value, ctx) => {
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        const near = nearestName(key, known);
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown field "${key}": not part of the wasmesh RateLimitPolicy API${near === null ? ` (fields here: ${known.join(', ')})` : ` (did you mean ${near}?)`}`,
          params: { code: 'unknown_field' },
        });
      }
    },
    { when: (p) => typeof p.value === 'object' && p.value !== null && !Array.isArray(p.value) },
  ) as unknown as z.ZodObject<T>;
}

const str = z.string();
const uint32 = z.int().min(0, 'must not be negative').max(4_294_967_295, 'must fit a uint32');
const labels = z.record(z.string(), z.string());
/** RFC 9110 token: what a header name may be. */
const headerName = str.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name (a token)');
const descriptorKey = str.min(1, 'must not be empty');

/** Envoy refuses a local rate limit fill interval under 50 ms. */
const MIN_FILL_INTERVAL_MS = 50;
const fillInterval = duration.superRefine((text, ctx) => {
  const d = parseDuration(text);
  if (d.ok && d.ms < MIN_FILL_INTERVAL_MS) ctx.addIssue({ code: 'custom', message: `must be at least ${MIN_FILL_INTERVAL_MS}ms (Envoy's local rate limit refuses a shorter fill interval), got ${text}`, params: { code: 'invalid_duration' } });
});

export const tokenBucket = message({
  maxTokens: uint32,
  tokensPerFill: z.int().min(1, 'must be at least 1').max(4_294_967_295, 'must fit a uint32').optional(),
  fillInterval,
});

const keyOnly = message({ descriptorKey: descriptorKey.optional() });

/** One descriptor entry: exactly one source. */
export const descriptorEntry = message({
  requestHeader: message({ name: headerName, descriptorKey: descriptorKey.optional() }).optional(),
  remoteAddress: keyOnly.optional(),
  sourcePrincipal: keyOnly.optional(),
  path: keyOnly.optional(),
  genericKey: message({ value: str.min(1, 'must not be empty'), descriptorKey: descriptorKey.optional() }).optional(),
}).superRefine((e, ctx) => {
  const set = (['requestHeader', 'remoteAddress', 'sourcePrincipal', 'path', 'genericKey'] as const).filter((k) => e[k] !== undefined);
  if (set.length !== 1) ctx.addIssue({ code: 'custom', message: `a descriptor entry takes exactly one of requestHeader, remoteAddress, sourcePrincipal, path, genericKey${set.length > 1 ? ` (got ${set.join(', ')})` : ''}`, params: { code: 'invalid_value' } });
});

/** A VirtualService's routes: `virtualService` is `name` (the policy's namespace) or `namespace/name`; `name` one of its http[].name. */
export const routeRef = message({ virtualService: str.min(1, 'must not be empty'), name: str.min(1, 'must not be empty').optional() });

const responseHeaders = z.enum(['DRAFT_VERSION_03', 'OFF']);

export const localRule = message({
  name: str.min(1).optional(),
  route: routeRef.optional(),
  descriptor: z.array(descriptorEntry).min(1, 'must have at least one entry (leave it out for one bucket)').optional(),
  tokenBucket,
});

export const globalRule = message({
  name: str.min(1).optional(),
  route: routeRef.optional(),
  descriptor: z.array(descriptorEntry).min(1, 'must have at least one entry'),
});

const serviceAddress = str.superRefine((text, ctx) => {
  try {
    const hp = parseHostPort(text);
    if (hp.port === 0 || text.startsWith(':')) throw new Error('a port from 1 to 65535 and a host are required');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be host:port of the rate limit service (e.g. ratelimit.rls.svc.cluster.local:8081): ${(err as Error).message}`, params: { code: 'invalid_value' } });
  }
});

/**
 * Which listeners of the selected workloads enforce the policy, in EnvoyFilter's patch-context
 * words (what Istio users write for rate limits today). Absent: gateways and outbound listeners,
 * as before the field existed.
 */
export const rateLimitContext = z.enum(['SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY', 'ANY']);

export const rateLimitPolicySpec = message({
  selector: message({ matchLabels: labels.optional() }).optional(),
  context: rateLimitContext.optional(),
  local: message({
    rules: z.array(localRule).min(1, 'must have at least one rule'),
    maxDynamicDescriptors: z.int().min(1, 'must be at least 1').max(100_000, 'must be at most 100000').optional(),
    responseHeaders: responseHeaders.optional(),
  }).optional(),
  global: message({
    service: serviceAddress,
    domain: str.min(1, 'must not be empty'),
    timeout: duration.optional(),
    failureModeDeny: z.boolean().optional(),
    responseHeaders: responseHeaders.optional(),
    rules: z.array(globalRule).min(1, 'must have at least one rule'),
  }).optional(),
}).superRefine((s, ctx) => {
  if (s.local === undefined && s.global === undefined) ctx.addIssue({ code: 'custom', message: 'a RateLimitPolicy needs local or global (or both)', params: { code: 'missing_field' } });
});

export const RATE_LIMIT_SPEC_SCHEMAS = { RateLimitPolicy: rateLimitPolicySpec } as const;

export type RateLimitKind = keyof typeof RATE_LIMIT_SPEC_SCHEMAS;
export type RateLimitPolicySpec = z.infer<typeof rateLimitPolicySpec>;
export type DescriptorEntrySpec = z.infer<typeof descriptorEntry>;
export type RouteRefSpec = z.infer<typeof routeRef>;
export type TokenBucketSpecYaml = z.infer<typeof tokenBucket>;

/** The API group and versions (api-kinds.ts lists them beside Istio's). */
export const RATE_LIMIT_GROUP = 'policy.wasmesh.io';
export const RATE_LIMIT_VERSIONS = ['v1alpha1'] as const;
