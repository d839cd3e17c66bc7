// The small HTTP server every demo and scenario app is built on: it answers who it is (service
// and version, so a test or a curl sees which subset served), keeps a log of the requests it
// saw (Host and headers, to show mirrors, retries and propagated headers) and has knobs to
// misbehave on demand — a delay, a fixed failure status, or the next N requests failing. Behind
// a sidecar terminating mTLS it answers the caller's SPIFFE ID in x-caller-identity.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer, listenHttpServer } from '../../common/http-server-port.js';
import { callerIdentity } from './caller-identity.js';

/** The response header naming the caller's SPIFFE ID, when the app's sidecar verified one. */
export const CALLER_IDENTITY_HEADER = 'x-caller-identity';

export interface ServiceAppOptions {
  /** The service name (`reviews`), as its ServiceEntry host. */
  service: string;
  /** The version label (`v2`, `prod`), as its WorkloadEntry. */
  version: string;
  host?: string;
  /** 0 picks a free port; read it back from `port` after listen(). */
  port: number;
}

/** One request as the app saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  /** The Host header (mirrored copies carry `<host>-shadow`). */
  host: string;
  headers: Record<string, string>;
  /** The answer's status. */
  status: number;
}

/** What a handler answers. */
export interface AppAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/** The request log is a ring of this many entries: long demo runs must not grow without end. */
const MAX_SEEN = 5000;

export class ServiceApp {
  readonly service: string;
  readonly version: string;
  readonly host: string;
  /** Milliseconds to wait before answering (a slow version, to show timeouts). */
  delayMs = 0;
  /** When non-zero, every request is answered with this status (a broken instance). */
  failStatus = 0;
  #seen: SeenRequest[] = [];
  /** Requests seen since start (the log keeps the last MAX_SEEN). */
  #count = 0;
  #failNext = 0;
  #failNextStatus = 503;
  readonly #server: Server;
  #port: number;

  constructor(options: ServiceAppOptions) {
    this.service = options.service;
    this.version = options.version;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    this.#server = createServer((req, res) => {
      // The body is drained and ignored: the scenarios' apps answer GETs.
      req.resume();
      req.on('end', () => {
        void this.#serve(req).then(
          (a) => {
            if (res.destroyed) return;
            // Behind a sidecar that terminates mTLS: who called, as the sidecar verified it.
            const caller = callerIdentity(req.headers['x-forwarded-client-cert']);
            res.writeHead(a.status, {
              'content-type': a.contentType ?? 'text/plain; charset=utf-8',
              'content-length': Buffer.byteLength(a.body),
              ...(caller === null ? {} : { [CALLER_IDENTITY_HEADER]: caller }),
            });
            res.end(req.method === 'HEAD' ? undefined : a.body);
          },
          (err: unknown) => {
            if (res.destroyed) return;
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`${this.name}: ${err instanceof Error ? err.message : String(err)}\n`);
          },
        );
      });
    });
    // A proxy keeps keep-alive connections to the app; they must not hold the process open.
    this.#server.keepAliveTimeout = 5000;
  }

  /** `<service>-<version>`, as the seeds name their Deployments. */
  get name(): string {
    return `${this.service}-${this.version}`;
  }

  get port(): number {
    return this.#port;
  }

  /** The last requests seen, oldest first. */
  get seen(): readonly SeenRequest[] {
    return this.#seen;
  }

  /** Requests seen since start or since clearSeen(). */
  get count(): number {
    return this.#count;
  }

  clearSeen(): void {
    this.#seen = [];
    this.#count = 0;
  }

  /** The next `n` requests are answered `status` (then the app behaves again). */
  failNext(n: number, status = 503): void {
    this.#failNext = n;
    this.#failNextStatus = status;
  }

  /** What the app answers when it does not misbehave; subclasses call their upstreams here. */
  protected answer(_req: IncomingMessage): Promise<AppAnswer> {
    return Promise.resolve({ status: 200, body: JSON.stringify({ service: this.service, version: this.version }), contentType: 'application/json' });
  }

  async #serve(req: IncomingMessage): Promise<AppAnswer> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    let a: AppAnswer;
    if (this.failStatus !== 0) a = this.#failure(this.failStatus);
    else if (this.#failNext > 0) {
      this.#failNext--;
      a = this.#failure(this.#failNextStatus);
    } else a = await this.answer(req);
    this.#record(req, a.status);
    return a;
  }

  #failure(status: number): AppAnswer {
    return { status, body: `${this.name}: failing on purpose (${status})\n` };
  }

  #record(req: IncomingMessage, status: number): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    if (this.#seen.length >= MAX_SEEN) this.#seen.shift();
    this.#seen.push({ method: req.method ?? '', url: req.url ?? '', host: headers.host ?? '', headers, status });
    this.#count++;
  }

  async listen(): Promise<void> {
    await listenHttpServer(this.#server, `${this.service} ${this.version} app`, this.host, this.#port);
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return closeHttpServer(this.#server);
  }
}
