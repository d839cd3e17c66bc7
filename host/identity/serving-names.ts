// The names a control-plane serving certificate (CA on 15012, injection webhook on 15017) carries
// for its listen host: a wildcard listener is dialled on loopback as well, over either family, so
// both loopback addresses are named (a client dialling [::1] verifies too) and `localhost`;
// a specific host is named as it is.

/** A listen host that takes every address: 0.0.0.0, `::` or none. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The SANs for serving on `host` (besides the service names the caller adds). */
export function servingHostNames(host: string): string[] {
  return isWildcardHost(host) ? ['127.0.0.1', '::1', 'localhost'] : [host];
}
