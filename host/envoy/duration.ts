// Istio durations (protobuf Duration in YAML: "2s", "500ms", "1.5s", "1m", "1h") to
// milliseconds, and milliseconds to the decimal-seconds form Envoy's YAML accepts ("0.250s").
import { EnvoyConfigError } from './envoy-config-error.js';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
// Go's time.ParseDuration grammar, which Istio's YAML decoding follows: one or more
// decimal-number+unit terms ("1m30s"). Negative durations are meaningless for timeouts.
const TERM = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/gy;

/** Parses an Istio duration; throws EnvoyConfigError (envoy_config_bad_duration) naming `where`. */
export function parseDurationMs(value: unknown, where: string): number {
  if (typeof value !== 'string' || value.length === 0) {
    throw new EnvoyConfigError('envoy_config_bad_duration', where, `expected a duration such as "2s" or "500ms", got ${JSON.stringify(value)}`);
  }
  TERM.lastIndex = 0;
  let ms = 0;
  let consumed = 0;
  for (let m = TERM.exec(value); m !== null; m = TERM.exec(value)) {
    ms += Number(m[1]) * UNIT_MS[m[2]];
    consumed = TERM.lastIndex;
  }
  if (consumed !== value.length) {
    throw new EnvoyConfigError('envoy_config_bad_duration', where, `"${value}" is not a duration (number + unit h, m, s, ms, us, ns; e.g. "2s")`);
  }
  return ms;
}

/** Envoy's YAML Duration: seconds with up to nanosecond decimals; "0s" for zero. */
export function envoyDuration(ms: number): string {
  if (ms <= 0) return '0s';
  // Round to whole nanoseconds, then print without float noise (0.1 + 0.2 style).
  const ns = Math.round(ms * 1e6);
  const seconds = Math.floor(ns / 1e9);
  const frac = ns % 1e9;
  if (frac === 0) return `${seconds}s`;
  return `${seconds}.${String(frac).padStart(9, '0').replace(/0+$/, '')}s`;
}
