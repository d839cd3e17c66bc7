// What an Istio HTTP rule does besides choosing destinations, to the model's route fields:
// rewrite, redirect, direct response, CORS, fault injection, mirrors and the retry policy.
// Istio's validation for each is applied here (errors located on the field), and its
// translation to Envoy decides the defaults (noted where they are not obvious).
import type { ConfigIssue, ConfigIssueCode } from '../config-error.js';
import { parseDuration } from '../../common/duration.js';
import type { HttpRoute, StringMatchSpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import { captureGroupCount, checkRegex, rewriteReferenceError } from './regex-check.js';
import { resolveCluster, type RouteContext } from './route-context.js';
import type { PathSegment } from '../yaml-source.js';
import type { CorsPolicy, DirectResponse, FaultPolicy, MirrorPolicy, Redirect, Rewrite, StringMatch } from '../../model/mesh.js';
import type { RetryPolicySpec } from '../../model/retry-policy.js';
import { istioDefaultRetryPolicy } from '../../model/istio-defaults.js';
import { IstioPolicyError } from './istio-policy-error.js';
import { retryPolicyFromIstio } from './retry-policy.js';

/** Istio's direct-response body warning threshold (validation warns above 1 MB). */
const DIRECT_RESPONSE_WARN_BYTES = 1024 * 1024;
/** Methods Istio's CORS validation accepts in allowMethods. */
const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface RouteActions {
  rewrite: Rewrite | null;
  redirect: Redirect | null;
  directResponse: DirectResponse | null;
  cors: CorsPolicy | null;
  fault: FaultPolicy | null;
  mirrors: MirrorPolicy[];
  retry: RetryPolicySpec;
}

function durationMs(text: string): number {
  const d = parseDuration(text);
  return d.ok ? d.ms : 0; // the schema already reported an invalid duration
}

function rewriteOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, issues: ConfigIssue[]): Rewrite | null {
  const rw = rule.rewrite;
  if (rw === undefined) return null;
  const path = [...base, 'rewrite'];
  const out: Rewrite = {};
  if (rw.uri === undefined && rw.authority === undefined && rw.uriRegexRewrite === undefined) {
    issues.push(issueAt(vs.ref, 'missing_field', path, 'rewrite must specify uri, authority or uriRegexRewrite'));
  }
  if (rw.uri !== undefined && rw.uriRegexRewrite !== undefined) {
    issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'uriRegexRewrite'], 'uri and uriRegexRewrite cannot both be set'));
  }
  if (rw.uri !== undefined) out.uri = rw.uri;
  if (rw.authority !== undefined) out.authority = rw.authority;
  if (rw.uriRegexRewrite !== undefined) {
    const rx = rw.uriRegexRewrite;
    const rxPath = [...path, 'uriRegexRewrite'];
    if (rx.match === undefined || rx.rewrite === undefined) {
      issues.push(issueAt(vs.ref, 'missing_field', [...rxPath, rx.match === undefined ? 'match' : 'rewrite'], 'uriRegexRewrite needs both match and rewrite'));
    } else {
      if (checkRegex(issues, vs.ref, [...rxPath, 'match'], rx.match)) {
        const why = rewriteReferenceError(rx.rewrite, captureGroupCount(rx.match));
        if (why !== null) issues.push(issueAt(vs.ref, 'invalid_value', [...rxPath, 'rewrite'], why));
      }
      out.uriRegex = { match: rx.match, rewrite: rx.rewrite };
    }
  }
  return out;
}

function redirectOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, issues: ConfigIssue[]): Redirect | null {
  const r = rule.redirect;
  if (r === undefined) return null;
  const path = [...base, 'redirect'];
  if (r.uri === undefined && r.authority === undefined && r.port === undefined && r.derivePort === undefined && r.scheme === undefined) {
    issues.push(issueAt(vs.ref, 'missing_field', path, 'redirect must specify uri, authority, scheme, port or derivePort'));
  }
  if (r.port !== undefined && r.derivePort !== undefined) {
    issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'derivePort'], 'port and derivePort cannot both be set'));
  }
  if (r.redirectCode !== undefined && r.redirectCode !== 0 && (r.redirectCode < 300 || r.redirectCode > 399)) {
    issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'redirectCode'], `${r.redirectCode} is not a redirect code (3xx)`));
  }
  if (r.prefixRewrite !== undefined) {
    issues.push(issueAt(vs.ref, 'unsupported_field', [...path, 'prefixRewrite'], 'prefixRewrite is not served; write the new path in redirect.uri'));
  }
  const out: Redirect = { redirectCode: r.redirectCode || 301 };
  if (r.uri !== undefined) out.uri = r.uri;
  if (r.authority !== undefined) out.authority = r.authority;
  if (r.port !== undefined) out.port = r.port;
  if (r.derivePort !== undefined) out.derivePort = r.derivePort;
  if (r.scheme !== undefined) out.scheme = r.scheme;
  return out;
}

function directResponseOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, ctx: RouteContext): DirectResponse | null {
  const d = rule.directResponse;
  if (d === undefined) return null;
  const path = [...base, 'directResponse'];
  let body: string | null = null;
  if (d.body !== undefined) {
    if (d.body.string !== undefined && d.body.bytes !== undefined) {
      ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'body'], 'body takes one of string or bytes'));
    } else if (d.body.string !== undefined) {
      body = d.body.string;
    } else if (d.body.bytes !== undefined) {
      // Protobuf JSON carries bytes as base64; the model holds them as latin1 text.
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(d.body.bytes)) {
        ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'body', 'bytes'], 'bytes must be base64'));
      } else body = Buffer.from(d.body.bytes, 'base64').toString('latin1');
    }
  }
  if (body !== null && body.length > DIRECT_RESPONSE_WARN_BYTES) {
    ctx.warnings.push(warningAt(vs.ref, [...path, 'body'], `a direct response body of ${body.length} bytes is served from memory for every request (Istio warns above 1 MB)`));
  }
  return { status: d.status, body };
}

function corsOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, ctx: RouteContext): CorsPolicy | null {
  const c = rule.corsPolicy;
  if (c === undefined) return null;
  const path = [...base, 'corsPolicy'];
  const origins: StringMatch[] = [];
  if (c.allowOrigins !== undefined) {
    if (c.allowOrigin !== undefined) ctx.warnings.push(warningAt(vs.ref, [...path, 'allowOrigin'], 'is ignored: allowOrigins is set (allowOrigin is deprecated)'));
    c.allowOrigins.forEach((m: StringMatchSpec, i) => {
      const p = [...path, 'allowOrigins', i];
      if (m.regex !== undefined) {
        checkRegex(ctx.issues, vs.ref, [...p, 'regex'], m.regex);
        origins.push({ kind: 'regex', value: m.regex });
      } else if (m.exact !== undefined) origins.push({ kind: 'exact', value: m.exact });
      else if (m.prefix !== undefined) origins.push({ kind: 'prefix', value: m.prefix });
      else ctx.issues.push(issueAt(vs.ref, 'missing_field', p, 'an origin match needs exact, prefix or regex'));
    });
  } else if (c.allowOrigin !== undefined) {
    ctx.warnings.push(warningAt(vs.ref, [...path, 'allowOrigin'], 'is deprecated: each entry is taken as an exact origin (write allowOrigins)'));
    for (const o of c.allowOrigin) origins.push({ kind: 'exact', value: o });
  }
  (c.allowMethods ?? []).forEach((m, i) => {
    if (!CORS_METHODS.has(m)) ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'allowMethods', i], `"${m}" is not an HTTP method CORS allows (${[...CORS_METHODS].join(', ')})`));
  });
  for (const key of ['allowHeaders', 'exposeHeaders'] as const) {
    (c[key] ?? []).forEach((h, i) => {
      if (!HEADER_NAME.test(h)) ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...path, key, i], `"${h}" is not a header name`));
    });
  }
  let maxAgeSeconds: number | null = null;
  if (c.maxAge !== undefined) {
    const ms = durationMs(c.maxAge);
    // Envoy's max_age is a number of seconds; Istio refuses what it cannot say exactly.
    if (ms % 1000 !== 0) ctx.issues.push(issueAt(vs.ref, 'invalid_duration', [...path, 'maxAge'], `"${c.maxAge}": maxAge is accurate only to whole seconds`));
    maxAgeSeconds = Math.floor(ms / 1000);
  }
  return {
    allowOrigins: origins,
    allowMethods: c.allowMethods ?? [],
    allowHeaders: c.allowHeaders ?? [],
    exposeHeaders: c.exposeHeaders ?? [],
    maxAgeSeconds,
    allowCredentials: c.allowCredentials ?? null,
    unmatchedPreflights: c.unmatchedPreflights === 'IGNORE' ? 'IGNORE' : 'FORWARD',
  };
}

/**
 * A fault's percentage: `percentage.value`, else the deprecated integer `percent` (with a
 * warning), else 0 — Istio's translation sets no percentage then, and Envoy's fault filter
 * injects into no request; the operator is told.
 */
function faultPercentage(f: { percentage?: { value?: number }; percent?: number }, path: PathSegment[], vs: SourcedResource, ctx: RouteContext): number {
  if (f.percentage !== undefined) return f.percentage.value ?? 0;
  if (f.percent !== undefined) {
    if (f.percent < 0 || f.percent > 100) {
      ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'percent'], `must be in 0..100, got ${f.percent}`));
      return 0;
    }
    ctx.warnings.push(warningAt(vs.ref, [...path, 'percent'], 'is deprecated: use percentage.value'));
    return f.percent;
  }
  ctx.warnings.push(warningAt(vs.ref, path, 'has no percentage: it is injected into no request (as Istio); set percentage.value, e.g. 100'));
  return 0;
}

function faultOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, ctx: RouteContext): FaultPolicy | null {
  const f = rule.fault;
  if (f === undefined) return null;
  const path = [...base, 'fault'];
  if (f.delay === undefined && f.abort === undefined) {
    ctx.issues.push(issueAt(vs.ref, 'missing_field', path, 'fault must specify delay or abort'));
  }
  let delay: FaultPolicy['delay'] = null;
  if (f.delay !== undefined) {
    const p = [...path, 'delay'];
    if (f.delay.exponentialDelay !== undefined) {
      ctx.issues.push(issueAt(vs.ref, 'unsupported_field', [...p, 'exponentialDelay'], 'exponentialDelay is not supported (Istio does not serve it either); use fixedDelay'));
    } else if (f.delay.fixedDelay === undefined) {
      ctx.issues.push(issueAt(vs.ref, 'missing_field', [...p, 'fixedDelay'], 'a delay needs fixedDelay'));
    } else {
      const ms = durationMs(f.delay.fixedDelay);
      if (ms < 1) ctx.issues.push(issueAt(vs.ref, 'invalid_duration', [...p, 'fixedDelay'], 'fixedDelay must be at least 1ms'));
      delay = { fixedDelayMs: ms, percentage: faultPercentage(f.delay, p, vs, ctx) };
    }
  }
  let abort: FaultPolicy['abort'] = null;
  if (f.abort !== undefined) {
    const p = [...path, 'abort'];
    if (f.abort.grpcStatus !== undefined || f.abort.http2Error !== undefined) {
      const field = f.abort.grpcStatus !== undefined ? 'grpcStatus' : 'http2Error';
      ctx.issues.push(issueAt(vs.ref, 'unsupported_field', [...p, field], `${field} aborts are not served (the proxy speaks HTTP/1.1 upstream); use httpStatus`));
    } else if (f.abort.httpStatus === undefined) {
      ctx.issues.push(issueAt(vs.ref, 'missing_field', [...p, 'httpStatus'], 'an abort needs httpStatus'));
    } else if (f.abort.httpStatus < 200 || f.abort.httpStatus > 599) {
      ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...p, 'httpStatus'], `must be in 200..599, got ${f.abort.httpStatus}`));
    } else {
      abort = { httpStatus: f.abort.httpStatus, percentage: faultPercentage(f.abort, p, vs, ctx) };
    }
  }
  return { delay, abort };
}

/**
 * Istio's mirror settings: `mirror` with `mirrorPercentage` (else the deprecated
 * `mirrorPercent`, else 100 %), or the `mirrors` list (each 100 % unless it says). A mirror at
 * 0 % is left out, as Istio leaves it out of Envoy's config.
 */
function mirrorsOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, ctx: RouteContext): MirrorPolicy[] {
  const out: MirrorPolicy[] = [];
  if (rule.mirror !== undefined && rule.mirrors !== undefined) {
    ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...base, 'mirrors'], 'mirror and mirrors cannot both be set'));
    return out;
  }
  if (rule.mirror !== undefined) {
    let percentage = 100;
    if (rule.mirrorPercentage !== undefined) percentage = rule.mirrorPercentage.value ?? 0;
    else if (rule.mirrorPercent !== undefined) {
      if (rule.mirrorPercent > 100) ctx.issues.push(issueAt(vs.ref, 'invalid_value', [...base, 'mirrorPercent'], `must be in 0..100, got ${rule.mirrorPercent}`));
      percentage = Math.min(100, rule.mirrorPercent);
    }
    const cluster = resolveCluster(vs, rule.mirror, [...base, 'mirror'], ctx);
    if (percentage > 0) out.push({ cluster, percentage });
  } else if (rule.mirrorPercentage !== undefined || rule.mirrorPercent !== undefined) {
    const field = rule.mirrorPercentage !== undefined ? 'mirrorPercentage' : 'mirrorPercent';
    ctx.warnings.push(warningAt(vs.ref, [...base, field], 'has no effect without mirror'));
  }
  (rule.mirrors ?? []).forEach((m, i) => {
    const cluster = resolveCluster(vs, m.destination, [...base, 'mirrors', i, 'destination'], ctx);
    const percentage = m.percentage === undefined ? 100 : (m.percentage.value ?? 0);
    if (percentage > 0) out.push({ cluster, percentage });
  });
  return out;
}

const RETRY_ISSUE_CODE: Partial<Record<string, ConfigIssueCode>> = { unsupported_retry_on: 'unsupported_field', invalid_setting: 'invalid_value', invalid_retry_on: 'invalid_value' };

function retryOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, ctx: RouteContext): RetryPolicySpec {
  const path = [...base, 'retries'];
  try {
    return retryPolicyFromIstio(rule.retries, 'retries');
  } catch (e) {
    if (!(e instanceof IstioPolicyError)) throw e;
    ctx.issues.push(issueAt(vs.ref, RETRY_ISSUE_CODE[e.code] ?? 'invalid_value', path, e.message));
    return istioDefaultRetryPolicy();
  } finally {
    for (const key of ['retryRemoteLocalities', 'retryIgnorePreviousHosts'] as const) {
      if (rule.retries?.[key] !== undefined) ctx.warnings.push(warningAt(vs.ref, [...path, key], 'is not served yet'));
    }
  }
}

/** Every action of rule `base` (spec.http[i]) of `vs`; issues and warnings go to ctx. */
export function routeActionsOf(rule: HttpRoute, base: PathSegment[], vs: SourcedResource, ctx: RouteContext): RouteActions {
  return {
    rewrite: rewriteOf(rule, base, vs, ctx.issues),
    redirect: redirectOf(rule, base, vs, ctx.issues),
    directResponse: directResponseOf(rule, base, vs, ctx),
    cors: corsOf(rule, base, vs, ctx),
    fault: faultOf(rule, base, vs, ctx),
    mirrors: mirrorsOf(rule, base, vs, ctx),
    retry: retryOf(rule, base, vs, ctx),
  };
}
