// The request heads every parser benchmark feeds, written once so that wasmesh, llhttp and
// Node's parser see byte-identical input; each is a head only (the body is never fed).
import { Buffer } from 'node:buffer';

export interface RequestHeadSample {
  /** Short name used in the result table. */
  name: string;
  bytes: Buffer;
  /** What a correct parse yields; every parser adapter is checked against it before timing. */
  method: string;
  target: string;
  headerCount: number;
}

function head(name: string, requestLine: string, headers: Array<[string, string]>): RequestHeadSample {
  const text = requestLine + '\r\n' + headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n';
  const [method, target] = requestLine.split(' ');
  return { name, bytes: Buffer.from(text, 'latin1'), method, target, headerCount: headers.length };
}

/** A service-to-service GET as a sidecar sees it: 4 headers. */
export const SMALL_GET = head('small GET (4 headers)', 'GET /api/v1/users/42 HTTP/1.1', [
  ['Host', 'users.default.svc.cluster.local'],
  ['User-Agent', 'curl/8.5.0'],
  ['Accept', '*/*'],
  ['x-request-id', '3f1c2a9e-7b4d-4e21-9c55-0d6f8e2b1a77'],
]);

/** A browser navigation through an ingress gateway: 15 headers, cookies and client hints. */
export const BROWSER_GET = head('browser GET (15 headers)', 'GET /productpage?u=normal&lang=en-GB HTTP/1.1', [
  ['Host', 'bookinfo.example.com'],
  ['Connection', 'keep-alive'],
  ['Cache-Control', 'max-age=0'],
  ['sec-ch-ua', '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'],
  ['sec-ch-ua-mobile', '?0'],
  ['sec-ch-ua-platform', '"Linux"'],
  ['Upgrade-Insecure-Requests', '1'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8'],
  ['Sec-Fetch-Site', 'none'],
  ['Sec-Fetch-Mode', 'navigate'],
  ['Sec-Fetch-User', '?1'],
  ['Sec-Fetch-Dest', 'document'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Cookie', 'session=eyJ1c2VyIjoibm9ybWFsIn0.ZmFrZS1zaWduYXR1cmU; _ga=GA1.1.1234567890.1700000000; theme=dark'],
]);

/** A JSON POST with body framing (Content-Length) and trace context: 8 headers. */
export const POST_JSON = head('POST JSON (8 headers, Content-Length)', 'POST /reviews/0/ratings HTTP/1.1', [
  ['Host', 'reviews.default.svc.cluster.local:9080'],
  ['User-Agent', 'python-requests/2.31.0'],
  ['Accept', 'application/json'],
  ['Content-Type', 'application/json'],
  ['Content-Length', '27'],
  ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ['x-request-id', '9b2e4c1d-5a6f-4b3e-8d7c-1e2f3a4b5c6d'],
  ['x-forwarded-for', '10.0.3.17'],
]);

export const REQUEST_HEADS: readonly RequestHeadSample[] = [SMALL_GET, BROWSER_GET, POST_JSON];
