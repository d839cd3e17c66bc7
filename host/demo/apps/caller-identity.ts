// Who called an app, as its sidecar vouches: the URI (SPIFFE ID) of the last element of
// x-forwarded-client-cert, which the inbound sidecar appends for the mTLS peer it verified
// (APPEND_FORWARD; host/tls/forward-client-cert.ts). Absent over plaintext: nothing vouches then.

/** The caller's SPIFFE ID from an x-forwarded-client-cert value, or null. */
export function callerIdentity(xfcc: string | string[] | undefined): string | null {
  const value = Array.isArray(xfcc) ? xfcc.join(',') : xfcc;
  if (value === undefined || value === '') return null;
  // Elements are comma-separated, fields `;`-separated; the last element is the direct peer's.
  // A quoted field (Subject="CN=a,O=b") may hold commas, so elements are split outside quotes.
  const elements = value.match(/(?:[^,"]|"[^"]*")+/g) ?? [];
  const last = elements.at(-1) ?? '';
  for (const field of last.match(/(?:[^;"]|"[^"]*")+/g) ?? []) {
    const eq = field.indexOf('=');
    if (eq > 0 && field.slice(0, eq).trim().toLowerCase() === 'uri') return field.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return null;
}
