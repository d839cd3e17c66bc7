// The WebSocket app of `wasmesh demo protocols`: a `ws` server on /chat behind a node:http
// server (as a WebSocket front end in a pod). On connect it greets first (server → client with
// nothing asked), then answers each message with an echo naming itself (client → server →
// client), so one client session through the gateway shows data both ways; a close is answered
// with the same code. Any other path is a plain HTTP 404, so a misrouted request is visible.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { closeHttpServer, listenHttpServer } from '../../common/http-server-port.js';

export interface ChatAppOptions {
  /** The version label (`v1`), as its WorkloadEntry. */
  version: string;
  host?: string;
  /** 0 picks a free port; read it back from `port` after listen(). */
  port: number;
  /** Names the port in errors (`chat-v1`). */
  name: string;
}

/** The path the app serves WebSockets on (the gateway's route matches its prefix). */
export const CHAT_PATH = '/chat';

/** The largest message the app takes (ws's maxPayload; larger closes the session with 1009). */
const MAX_MESSAGE = 1024 * 1024;

export class ChatApp {
  readonly version: string;
  readonly name: string;
  readonly host: string;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  #port: number;
  /** WebSocket sessions opened since start (the tests read it). */
  sessions = 0;

  constructor(options: ChatAppOptions) {
    this.version = options.version;
    this.name = options.name;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    this.#http = createServer((req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`chat ${this.version}: WebSocket only, on ${CHAT_PATH}\n`);
    });
    this.#wss = new WebSocketServer({ server: this.#http, path: CHAT_PATH, maxPayload: MAX_MESSAGE });
    this.#wss.on('connection', (ws) => {
      this.sessions++;
      ws.send(`welcome to chat ${this.version}`);
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `chat ${this.version} echoes: ${data.toString()}`, { binary: isBinary }));
      ws.on('error', () => {});
    });
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<void> {
    await listenHttpServer(this.#http, this.name, this.host, this.#port);
    this.#port = (this.#http.address() as AddressInfo).port;
  }

  /** Closes every session (1001, going away) and the port. */
  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.close(1001, 'chat app stopping');
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    for (const ws of this.#wss.clients) ws.terminate();
    await closeHttpServer(this.#http);
  }
}
