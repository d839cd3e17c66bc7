// Test clients: a plain node:http request (one fresh connection unless an agent is given)
// and a raw-socket exchange that reports exactly how the server ended the response.
import http from 'node:http';
import net from 'node:net';

export interface ClientResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function request(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: Buffer | string; agent?: http.Agent | false; localAddress?: string } = {},
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: { host: 'svc.test', ...opts.headers }, agent: opts.agent ?? false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** Sends raw bytes and collects everything until the server closes (or `idleMs` of silence). */
/**
 * Sends raw bytes and collects what comes back until the server closes, nothing arrives for
 * `idleMs`, or `until(data)` holds (so a positive check need not wait out the idle time).
 */
export function rawExchange(port: number, bytes: string | Buffer, idleMs = 500, until?: (data: Buffer) => boolean): Promise<{ data: Buffer; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let timer = setTimeout(done, idleMs);
    let closed = false;
    function done(): void {
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closedByServer: closed });
    }
    s.on('data', (d) => {
      chunks.push(d);
      clearTimeout(timer);
      if (until !== undefined && until(Buffer.concat(chunks))) {
        done();
        return;
      }
      timer = setTimeout(done, idleMs);
    });
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      done();
    });
  });
}
