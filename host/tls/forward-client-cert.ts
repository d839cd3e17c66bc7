// x-forwarded-client-cert on a port that terminates TLS, as Istio's sidecar inbound sets it
// (Envoy's forward_client_cert_details APPEND_FORWARD): over mutual TLS the connection's element
// is appended to what came in (one field, elements comma-separated); from a client without a
// verified certificate (plaintext on a PERMISSIVE port, TLS without a client certificate) any
// incoming XFCC is dropped, since nothing vouches for it. With `sanitize` (SANITIZE_SET, Istio's
// gateway) what came in is always dropped and the connection's element set alone.

const XFCC = 'x-forwarded-client-cert';

/** Edits the flat name/value field list in place. */
export function forwardClientCert(fields: string[], element: string | null, sanitize = false): void {
  let incoming = '';
  for (let i = 0; i < fields.length; ) {
    if (fields[i] === XFCC) {
      if (element !== null && !sanitize && fields[i + 1] !== '') incoming = incoming === '' ? fields[i + 1]! : `${incoming},${fields[i + 1]!}`;
      fields.splice(i, 2);
    } else {
      i += 2;
    }
  }
  if (element !== null) fields.push(XFCC, incoming === '' ? element : `${incoming},${element}`);
}
