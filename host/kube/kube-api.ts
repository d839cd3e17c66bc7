// The requests the control plane makes of the Kubernetes API server, over node's http/https (no
// client library: a list is one JSON GET, a watch is a chunked response of one JSON event per
// line, a write is one JSON POST/PUT/PATCH — @kubernetes/client-node would add ~40 dependencies
// for these). Errors carry the HTTP status so the reflector tells 410 Gone (relist) from the rest
// (back off and retry), and a writer tells 409 Conflict (read again) from 404 and 403.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeAccess } from './kube-access.js';

export class KubeApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface Watch {
  /** Ends the watch (the socket is destroyed). */
  close(): void;
  /** Resolves when the server ends the watch (its timeout), rejects on a broken connection. */
  done: Promise<void>;
  /** Resolves once the server answered 200 (the watch is open). */
  opened: Promise<void>;
}

export class KubeApi {
  readonly #access: KubeAccess;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #tls: boolean;

  constructor(access: KubeAccess) {
    this.#access = access;
    this.#tls = access.server.startsWith('https:');
    this.#agent = this.#tls
      ? new HttpsAgent({ keepAlive: true, ...(access.ca !== undefined ? { ca: access.ca } : {}), ...(access.cert !== undefined ? { cert: access.cert, key: access.key } : {}), rejectUnauthorized: !access.insecureSkipTlsVerify })
      : new HttpAgent({ keepAlive: true });
  }

  get server(): string {
    return this.#access.server;
  }

  #open(path: string, timeoutMs: number, onResponse: (res: IncomingMessage) => void, onError: (err: Error) => void, write?: { method: string; body: string; contentType: string }): () => void {
    const token = this.#access.token?.();
    const method = write?.method ?? 'GET';
    const req = (this.#tls ? httpsRequest : httpRequest)(`${this.#access.server}${path}`, {
      method,
      agent: this.#agent,
      headers: {
        accept: 'application/json',
        'user-agent': 'wasmesh-control-plane',
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(write !== undefined ? { 'content-type': write.contentType, 'content-length': String(Buffer.byteLength(write.body)) } : {}),
      },
      timeout: timeoutMs,
    }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no data for ${timeoutMs} ms`)));
    req.on('error', onError);
    req.end(write?.body);
    return () => req.destroy();
  }

  /**
   * One write: `body` as JSON (a JSON Patch array with contentType application/json-patch+json).
   * Resolves with the object the server answered; a non-2xx answer rejects with KubeApiError.
   */
  send(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#open(path, timeoutMs, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return reject(new KubeApiError(status, `${method} ${path}: ${status} ${statusMessage(text)}`));
          try {
            resolve(text === '' ? {} : (JSON.parse(text) as Record<string, unknown>));
          } catch (err) {
            reject(new KubeApiError(status, `${method} ${path}: not JSON: ${(err as Error).message}`));
          }
        });
      }, reject, { method, body: JSON.stringify(body), contentType });
    });
  }

  /** GET `path` as JSON; a non-2xx answer rejects with KubeApiError (the Status message). */
  getJson(path: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#open(path, timeoutMs, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return reject(new KubeApiError(status, `GET ${path}: ${status} ${statusMessage(text)}`));
          try {
            resolve(JSON.parse(text) as Record<string, unknown>);
          } catch (err) {
            reject(new KubeApiError(status, `GET ${path}: not JSON: ${(err as Error).message}`));
          }
        });
      }, reject);
    });
  }

  /**
   * Opens a watch on `path` (with its query) and calls `onEvent` per line. `idleMs`: a connection
   * silent for that long (no event, no bookmark) counts as broken.
   */
  watch(path: string, onEvent: (e: WatchEvent) => void, idleMs: number): Watch {
    let close = (): void => {};
    let markOpen = (): void => {};
    const opened = new Promise<void>((r) => (markOpen = r));
    const done = new Promise<void>((resolve, reject) => {
      close = this.#open(path, idleMs, (res) => {
        const status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (status < 200 || status > 299) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => reject(new KubeApiError(status, `watch ${path}: ${status} ${statusMessage(text)}`)));
          res.on('error', reject);
          return;
        }
        markOpen();
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line === '') continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (err) {
              res.destroy(err as Error);
              return;
            }
          }
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error(`watch ${path}: connection lost`)));
        res.on('close', () => {
          if (!res.complete) reject(new Error(`watch ${path}: connection lost`));
        });
        res.on('end', () => resolve());
      }, reject);
    });
    return { close: () => close(), done, opened };
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** The message of a Kubernetes Status body, or the body's start. */
function statusMessage(text: string): string {
  try {
    const s = JSON.parse(text) as { message?: string };
    if (typeof s.message === 'string') return s.message;
  } catch { /* not a Status */ }
  return text.slice(0, 200);
}
