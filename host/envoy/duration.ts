// Milliseconds (the model's durations, parsed once by host/common/duration.ts) to the
// decimal-seconds form Envoy's YAML accepts ("0.250s").

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
