// Which path mesh TLS to a declared app port takes, by the ALPN its ClientHello offers, as Istio's
// inbound filter chains tell them apart: an Istio client offers `istio-http/1.1, istio, http/1.1`
// (or `istio-h2, istio, h2`) for HTTP and `istio-peer-exchange, istio` for TCP. A ClientHello
// that offers an HTTP protocol goes to the HTTP connection manager; any other — Istio's TCP
// names, no ALPN at all, names neither side knows — goes to the byte proxy, as Istio's TCP chain
// (transport `tls`, no ALPN condition) takes everything its HTTP chains (matched by the HTTP
// names) leave. The Envoy plane's inbound is laid out the same way (host/envoy/inbound-tcp-chain.ts).

/** ALPN values that name HTTP (Istio's in-mesh names and the plain ones). */
const HTTP_ALPN: ReadonlySet<string> = new Set(['http/1.0', 'http/1.1', 'h2', 'h2c', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']);

/** Whether mesh TLS offering `alpn` is TCP (the byte proxy) rather than HTTP: it offers no HTTP name. */
export function isMeshTcpAlpn(alpn: readonly string[]): boolean {
  for (const a of alpn) if (HTTP_ALPN.has(a)) return false;
  return true;
}
