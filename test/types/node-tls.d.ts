// Node's tls.connect honours `allowHalfOpen` (lib/_tls_wrap.js passes options.allowHalfOpen to
// the TLSSocket it creates, as net.connect does), but @types/node 20 leaves it out of
// tls.ConnectionOptions. Tests that half-close a TLS connection (end their side, read the
// rest) declare it here rather than casting their options.
import 'node:tls';

declare module 'tls' {
  interface ConnectionOptions {
    /** Keep the writable side open after the peer ends (default false: end it too). */
    allowHalfOpen?: boolean | undefined;
  }
}
