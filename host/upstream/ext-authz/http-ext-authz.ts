// Envoy's ext_authz over HTTP (meshConfig envoyExtAuthzHttp): the request's head is sent to the
// authorizer — same method, pathPrefix + the path, Host, and the headers the provider lists in
// includeRequestHeadersInCheck (plus authorization, as Envoy always sends it) — and, with
// includeRequestBodyInCheck, the body (its first maxRequestBytes) with x-envoy-auth-partial-body.
// The answer: 200 allows, copying the headers named in headersToUpstreamOnAllow onto the request;
// a 5xx, a connection failure or the timeout is an error (failOpen / statusOnError); any other
// status denies with that status, the authorizer's body and its headers (those named in
// headersToDownstreamOnDeny; all but the framing ones when none is named, as Envoy).
import http from 'node:http';
import type { ExtAuthzCheck, ExtAuthzVerdict } from '../../http/ext-authz-check.js';
import type { StreamCallbacks } from '../../http/stream-callbacks.js';
import type { ExtAuthzProvider } from '../../model/mesh-settings.js';
import type { ExtAuthzTarget } from './ext-authz-target.js';
import { allowedWith, denied, failed } from './verdicts.js';
import type { BufferedBody } from '../../http/stream-callbacks.js';
import { PARTIAL_BODY_HEADER, withCheckBody } from './check-body.js';

/** Never copied back to the client from an authorizer's answer (framing and connection fields). */
const NOT_TO_CLIENT = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'host', 'date', 'server']);

function pick(headers: http.IncomingHttpHeaders, names: readonly string[]): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const name of names) {
    const v = headers[name.toLowerCase()];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([name.toLowerCase(), one]);
  }
  return out;
}

export class HttpExtAuthzCheck implements ExtAuthzCheck {
  readonly provider: string;
  readonly #p: ExtAuthzProvider;
  readonly #target: ExtAuthzTarget;
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #sent: ReadonlySet<string>;

  constructor(provider: ExtAuthzProvider, target: ExtAuthzTarget) {
    this.provider = provider.name;
    this.#p = provider;
    this.#target = target;
    this.#sent = new Set(['authorization', ...provider.includeRequestHeadersInCheck.map((h) => h.toLowerCase())]);
  }

  check(stream: StreamCallbacks, done: (verdict: ExtAuthzVerdict) => void): () => void {
    return withCheckBody(stream, this.#p, done, (body) => this.#send(stream, body, done));
  }

  #send(stream: StreamCallbacks, body: BufferedBody | null, done: (verdict: ExtAuthzVerdict) => void): () => void {
    const ds = stream.downstream;
    const headers: Record<string, string | string[]> = { host: ds.authority, 'content-length': String(body?.bytes.length ?? 0) };
    if (body !== null) headers[PARTIAL_BODY_HEADER] = body.partial ? 'true' : 'false';
    const h = ds.headers;
    for (let i = 0; i + 1 < h.length; i += 2) {
      const name = h[i]!;
      if (!this.#sent.has(name)) continue;
      const prev = headers[name];
      headers[name] = prev === undefined ? h[i + 1]! : [...(Array.isArray(prev) ? prev : [prev]), h[i + 1]!];
    }
    const { host, port } = this.#target.next();
    let finished = false;
    const finish = (v: ExtAuthzVerdict): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(v);
    };
    const p = this.#p;
    const req = http.request({ host, port, method: ds.method, path: p.pathPrefix + ds.path, headers, agent: this.#agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => finish(failed(p)));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 200) finish(allowedWith(pick(res.headers, p.headersToUpstreamOnAllow)));
        else if (status >= 500 || status < 200) finish(failed(p));
        else {
          const names = p.headersToDownstreamOnDeny.length > 0 ? p.headersToDownstreamOnDeny : Object.keys(res.headers).filter((n) => !NOT_TO_CLIENT.has(n));
          finish(denied(status, pick(res.headers, names), Buffer.concat(chunks).toString('utf8')));
        }
      });
    });
    const timer = setTimeout(() => {
      finish(failed(p));
      req.destroy();
    }, p.timeoutMs);
    req.on('error', () => finish(failed(p)));
    req.end(body?.bytes);
    return () => {
      finished = true;
      clearTimeout(timer);
      req.destroy();
    };
  }

  close(): void {
    this.#agent.destroy();
  }
}
