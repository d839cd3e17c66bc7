// TLS exports: the ClientHello reader (Envoy's tls_inspector in the core).
export { tls_client_hello_parse, tls_layout } from './client-hello';
