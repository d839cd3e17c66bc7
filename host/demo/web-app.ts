// The seed 000 demo application (jweissig/istio-demo) as a tiny HTTP server: `GET /` answers
// `Version: v0.1` or `Version: v0.2`, so a curl loop shows which version served each request.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer, listenHttpServer } from '../common/http-server-port.js';

export interface WebAppOptions {
  /** What `GET /` answers after `Version: `, e.g. `v0.1`. */
  version: string;
  host?: string;
  /** 0 picks a free port; read it back from `port`. */
  port: number;
  /** Name used in errors, e.g. `web-v1`. */
  name?: string;
}

export class WebApp {
  readonly version: string;
  readonly name: string;
  readonly host: string;
  readonly #server: Server;
  #port: number;

  constructor(options: WebAppOptions) {
    this.version = options.version;
    this.name = options.name ?? `web ${options.version}`;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    this.#server = createServer((req, res) => {
      // Drain any request body, then answer: the app has one page, like the original image.
      req.resume();
      req.on('end', () => {
        if ((req.method === 'GET' || req.method === 'HEAD') && (req.url === '/' || req.url?.startsWith('/?'))) {
          const body = `Version: ${this.version}`;
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          res.end(req.method === 'HEAD' ? undefined : body);
        } else {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('not found\n');
        }
      });
    });
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<void> {
    await listenHttpServer(this.#server, `demo app ${this.name}`, this.host, this.#port);
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return closeHttpServer(this.#server);
  }
}
