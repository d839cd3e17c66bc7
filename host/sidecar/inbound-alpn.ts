// Which path mesh TLS to a declared app port takes, by the ALPN its ClientHello offers, as Istio's
// inbound filter chains tell them apart: an Istio client offers `istio-http/1.1, istio, http/1.1`
// (or `istio-h2, istio, h2`) for HTTP and `istio-peer-exchange, istio` for TCP. A ClientHello
// that offers an HTTP protocol goes to the HTTP connection manager; one that offers only Istio's
// TCP names (`istio-peer-exchange`, `istio`) goes to the byte proxy. One that offers none keeps
// the HTTP path (Istio would take it as TCP; wasmesh's HTTP path has always served it, and a
// TLS client without ALPN to a mesh app port is an HTTP client in practice).

/** ALPN values that name HTTP (Istio's in-mesh names and the plain ones). */
const HTTP_ALPN: ReadonlySet<string> = new Set(['http/1.0', 'http/1.1', 'h2', 'h2c', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']);
/** Istio's TCP-in-mTLS names: the metadata exchange's, and the generic one its TCP clients offer after it. */
const TCP_ALPN: ReadonlySet<string> = new Set(['istio-peer-exchange', 'istio']);

/** Whether mesh TLS offering `alpn` is TCP (the byte proxy) rather than HTTP. */
export function isMeshTcpAlpn(alpn: readonly string[]): boolean {
  let tcp = false;
  for (const a of alpn) {
    if (HTTP_ALPN.has(a)) return false;
    if (TCP_ALPN.has(a)) tcp = true;
  }
  return tcp;
}
