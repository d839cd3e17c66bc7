// Istio duration strings ("2s", "100ms", "1.5s", "1m", "1h30m") to milliseconds: the one parser
// of Istio durations, for the schemas and the translation in host/config alike. Istio takes
// protobuf Duration JSON ("1.5s") and, through its CRD validation, Go's duration syntax; both
// are accepted here. Like Istio's ValidateDuration, only whole milliseconds are allowed.

const UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign, as Go accepts
  'μs': 1e-3, // U+03BC Greek mu, as Go accepts
  ns: 1e-6,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|μs|ns)/;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(text: string): DurationResult {
  const bad = (why: string): DurationResult => ({
    ok: false,
    reason: `"${text}" is not a valid duration: ${why} (examples: "2s", "100ms", "1.5s", "1m", "1h30m")`,
  });
  if (text === '') return bad('empty');
  if (text.startsWith('-')) return bad('negative durations are not allowed');
  if (text === '0') return { ok: true, ms: 0 };
  let rest = text.startsWith('+') ? text.slice(1) : text;
  if (rest === '') return bad('no number');
  // Sum in nanoseconds, then round away float noise so "1.001s" is exactly 1001 ms.
  let nanos = 0;
  while (rest !== '') {
    const m = PART.exec(rest);
    if (m === null) return bad(/^\d/.test(rest) ? 'missing or unknown unit (h, m, s, ms, us, ns)' : `unexpected "${rest}"`);
    nanos += Number(m[1]) * UNIT_MS[m[2]!]! * 1e6;
    rest = rest.slice(m[0].length);
  }
  const roundedNanos = Math.round(nanos);
  if (roundedNanos % 1_000_000 !== 0) {
    return { ok: false, reason: `"${text}": only durations to millisecond precision are supported` };
  }
  const ms = roundedNanos / 1_000_000;
  if (!Number.isSafeInteger(ms)) return bad('too large');
  return { ok: true, ms };
}

/**
 * What to write instead of a duration given as a number (`timeout: 2` → `: write "2s"`): YAML
 * reads 2 as a number, and Istio's durations are strings with a unit. '' for anything else.
 */
export function durationHint(input: unknown): string {
  if (typeof input !== 'number' || !Number.isFinite(input) || input < 0) return '';
  return `: write "${input}s" (a duration needs a unit: h, m, s, ms)`;
}
