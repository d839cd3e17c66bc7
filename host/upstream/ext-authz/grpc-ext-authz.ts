// Envoy's ext_authz over gRPC (meshConfig envoyExtAuthzGrpc): one
// envoy.service.auth.v3.Authorization/Check per request, carrying the request's attributes
// (method, path, host, headers with the pseudo-headers, source address) as Envoy sends them,
// and with includeRequestBodyInCheck the body (body, or raw_body with packAsBytes).
// The answer: status OK allows, with ok_response's headers set on the request; any other status
// denies with denied_response's HTTP status (403 when it names none), headers and body; a call
// that fails or runs past the timeout is an error (failOpen / statusOnError).
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import type { ExtAuthzCheck, ExtAuthzVerdict } from '../../http/ext-authz-check.js';
import type { StreamCallbacks } from '../../http/stream-callbacks.js';
import type { ExtAuthzProvider } from '../../model/mesh-settings.js';
import { authorizationService } from './ext-authz-proto.js';
import type { ExtAuthzTarget } from './ext-authz-target.js';
import { allowedWith, denied, failed } from './verdicts.js';
import type { BufferedBody } from '../../http/stream-callbacks.js';
import { PARTIAL_BODY_HEADER, withCheckBody } from './check-body.js';

interface HeaderValueOption { header?: { key?: string; value?: string; raw_value?: Uint8Array } }
interface CheckResponse {
  status?: { code?: number; message?: string };
  denied_response?: { status?: { code?: number }; headers?: HeaderValueOption[]; body?: string };
  ok_response?: { headers?: HeaderValueOption[] };
}
type CheckClient = Client & { Check(req: object, opts: { deadline: number }, cb: (err: ServiceError | null, res?: CheckResponse) => void): { cancel(): void } };

function pairs(headers: HeaderValueOption[] | undefined): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const h of headers ?? []) {
    const key = h.header?.key;
    if (key === undefined || key === '') continue;
    const value = h.header?.value ?? (h.header?.raw_value !== undefined ? Buffer.from(h.header.raw_value).toString('utf8') : '');
    out.push([key.toLowerCase(), value]);
  }
  return out;
}

const GRPC_OK = 0;

export class GrpcExtAuthzCheck implements ExtAuthzCheck {
  readonly provider: string;
  readonly #p: ExtAuthzProvider;
  readonly #target: ExtAuthzTarget;
  readonly #clients = new Map<string, CheckClient>();

  constructor(provider: ExtAuthzProvider, target: ExtAuthzTarget) {
    this.provider = provider.name;
    this.#p = provider;
    this.#target = target;
  }

  #client(): CheckClient {
    const { host, port } = this.#target.next();
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    let c = this.#clients.get(address);
    if (c === undefined) {
      const Ctor = makeGenericClientConstructor(authorizationService(), 'Authorization');
      c = new Ctor(address, credentials.createInsecure()) as unknown as CheckClient;
      this.#clients.set(address, c);
    }
    return c;
  }

  check(stream: StreamCallbacks, done: (verdict: ExtAuthzVerdict) => void): () => void {
    return withCheckBody(stream, this.#p, done, (body) => this.#send(stream, body, done));
  }

  #send(stream: StreamCallbacks, body: BufferedBody | null, done: (verdict: ExtAuthzVerdict) => void): () => void {
    const ds = stream.downstream;
    const headers: Record<string, string> = { ':authority': ds.authority, ':method': ds.method, ':path': ds.path };
    const h = ds.headers;
    // Repeated fields are joined with commas, as Envoy puts them in the map.
    for (let i = 0; i + 1 < h.length; i += 2) headers[h[i]!] = headers[h[i]!] === undefined ? h[i + 1]! : `${headers[h[i]!]},${h[i + 1]!}`;
    if (body !== null) headers[PARTIAL_BODY_HEADER] = body.partial ? 'true' : 'false';
    const q = ds.path.indexOf('?');
    const request = {
      attributes: {
        source: { address: { socket_address: { address: ds.remoteAddress, port_value: 0 } } },
        request: {
          http: {
            id: stream.requestHeader('x-request-id') ?? '',
            method: ds.method,
            headers,
            path: ds.path,
            host: ds.authority,
            scheme: ds.security !== null ? 'https' : 'http',
            query: q < 0 ? '' : ds.path.slice(q + 1),
            protocol: 'HTTP/1.1',
            // includeRequestBodyInCheck: raw_body with packAsBytes, else body as UTF-8 text (Envoy's).
            ...(body === null ? {} : this.#p.packAsBytes === true ? { raw_body: body.bytes } : { body: Buffer.from(body.bytes).toString('utf8') }),
          },
        },
      },
    };
    const p = this.#p;
    let finished = false;
    const finish = (v: ExtAuthzVerdict): void => {
      if (finished) return;
      finished = true;
      done(v);
    };
    let call: { cancel(): void };
    try {
      call = this.#client().Check(request, { deadline: Date.now() + p.timeoutMs }, (err, res) => {
        if (err !== null || res === undefined) return finish(failed(p));
        if ((res.status?.code ?? GRPC_OK) === GRPC_OK) return finish(allowedWith(pairs(res.ok_response?.headers)));
        const d = res.denied_response;
        const code = d?.status?.code ?? 0;
        finish(denied(code >= 100 && code <= 599 ? code : 403, pairs(d?.headers), d?.body ?? ''));
      });
    } catch {
      finish(failed(p));
      return () => {};
    }
    return () => {
      finished = true;
      call.cancel();
    };
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
