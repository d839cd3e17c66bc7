// The Date field value (RFC 9110 §6.6.1, IMF-fixdate), formatted at most once a second: every
// response carries one, as Envoy's connection manager adds it.
let cachedSecond = -1;
let cached = '';

/** Now as an IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cached = new Date(second * 1000).toUTCString();
  }
  return cached;
}
