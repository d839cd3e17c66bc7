// The reflector's list/watch logic against a fake API server (node:http) that scripts each
// request: a paged list, watches that carry events and bookmarks and end, 410 Gone as an HTTP
// status and as an ERROR event in the stream, a 500 and a closed server (backoff, objects kept),
// 404 for a kind that is not served.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../host/kube/kube-api.js';
import { Reflector } from '../../host/kube/reflector.js';

type Handler = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams) => void;

const svc = (name: string, rv: string) => ({ metadata: { name, namespace: 'default', resourceVersion: rv } });
const line = (res: ServerResponse, type: string, object: unknown): void => {
  res.write(JSON.stringify({ type, object }) + '\n');
};

let server: Server | null = null;
let reflector: Reflector | null = null;
let api: KubeApi | null = null;
afterEach(async () => {
  reflector?.close();
  api?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A server answering request i with handlers[i] (the last one for any later request). */
async function fake(handlers: Handler[]): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(req.url!);
    const h = handlers[Math.min(requests.length - 1, handlers.length - 1)]!;
    h(req, res, url.searchParams);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests };
}

function start(url: string, onChange = (): void => {}): Reflector {
  api = new KubeApi({ server: url, insecureSkipTlsVerify: false, origin: 'test' });
  reflector = new Reflector(api, { path: '/api/v1/services', apiVersion: 'v1', kind: 'Service', onChange, log: () => {}, backoff: { initialMs: 20, maxMs: 50 }, pageSize: 2 });
  return reflector;
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hold = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
};

describe('Reflector', () => {
  it('lists page by page, watches from the list version, follows bookmarks, relists on 410 Gone', async () => {
    const { url, requests } = await fake([
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '10', continue: 'page2' }, items: [svc('a', '5'), svc('b', '6')] })),
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [svc('c', '7')] })),
      (_q, res) => {
        hold(res);
        line(res, 'ADDED', { ...svc('d', '11'), kind: 'Service' });
        line(res, 'BOOKMARK', { metadata: { resourceVersion: '15' } });
        res.end(); // the server's watch timeout
      },
      (_q, res) => res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 410, message: 'too old resource version: 15 (30)' })),
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '30' }, items: [svc('a', '5'), svc('e', '29')] })),
      (_q, res) => {
        hold(res);
        line(res, 'DELETED', svc('a', '31'));
        line(res, 'MODIFIED', { ...svc('e', '32'), spec: { x: 1 } });
      },
    ]);
    const r = start(url);
    await r.start();
    // The first sync holds both pages.
    expect(requests.slice(0, 2)).toEqual(['/api/v1/services?limit=2', '/api/v1/services?limit=2&continue=page2']);
    await until(() => r.objects.size === 1 && r.objects.has('default/e') && r.resourceVersion === '32', 'the state after relist and watch');
    const watches = requests.filter((p) => p.includes('watch=1')).map((p) => new URL(p, 'http://x').searchParams);
    expect(watches.map((q) => q.get('resourceVersion'))).toEqual(['10', '15', '30']);
    expect(watches.every((q) => q.get('allowWatchBookmarks') === 'true')).toBe(true);
    expect(r.stats).toMatchObject({ lists: 2, relists410: 1, bookmarks: 1 });
    // Objects carry apiVersion and kind (list items have none), without managed fields.
    expect(r.objects.get('default/e')).toMatchObject({ apiVersion: 'v1', kind: 'Service', spec: { x: 1 } });
  });

  it('an ERROR event with code 410 in the watch stream relists', async () => {
    const { url, requests } = await fake([
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [svc('a', '5')] })),
      (_q, res) => {
        hold(res);
        line(res, 'ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      },
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '40' }, items: [svc('b', '39')] })),
      (_q, res) => hold(res),
    ]);
    const r = start(url);
    await r.start();
    await until(() => r.objects.has('default/b') && !r.objects.has('default/a'), 'the relisted state');
    expect(r.stats.relists410).toBe(1);
    await until(() => requests.length >= 4, 'the watch after the relist');
    expect(new URL(requests[3]!, 'http://x').searchParams.get('resourceVersion')).toBe('40');
  });

  it('a failing server is retried with backoff while the objects last known are kept', async () => {
    let changes = 0;
    const { url, requests } = await fake([
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [svc('a', '5')] })),
      (_q, res) => res.writeHead(500).end('{"kind":"Status","code":500,"message":"etcd is away"}'),
      (_q, res) => res.writeHead(500).end('{"kind":"Status","code":500,"message":"etcd is away"}'),
      (_q, res) => {
        hold(res);
        line(res, 'ADDED', svc('b', '12'));
      },
    ]);
    const r = start(url, () => changes++);
    await r.start();
    await until(() => r.objects.has('default/b'), 'the watch after two failures');
    expect(r.objects.has('default/a')).toBe(true);
    expect(r.stats.errors).toBe(2);
    expect(r.stats.lists).toBe(1); // a 500 is not a reason to relist
    expect(requests.filter((p) => p.includes('watch=1')).every((p) => p.includes('resourceVersion=10'))).toBe(true);
    expect(changes).toBe(2);
    // The watch open again: healthy, though it has not ended yet.
    expect(r.lastError).toBeNull();
  });

  it('keeps its objects while nothing answers, and resyncs when the server is back', async () => {
    const { url } = await fake([
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [svc('a', '5')] })),
      (_q, res) => hold(res),
    ]);
    const r = start(url);
    await r.start();
    const port = Number(new URL(url).port);
    // The API server goes away: the open watch is cut, reconnects are refused.
    server!.closeAllConnections();
    await new Promise<void>((res) => server!.close(() => res()));
    await until(() => r.stats.errors >= 2, 'failed reconnects');
    expect(r.objects.has('default/a')).toBe(true);
    expect(r.lastError).toMatch(/ECONNREFUSED|connection lost|socket hang up/);
    // Back on the same port; the watch resumes from the last version, which is now too old.
    let n = 0;
    server = createServer((req, res) => {
      n++;
      if (req.url!.includes('watch=1') && req.url!.includes('resourceVersion=10')) return void res.writeHead(410).end('{"code":410,"message":"gone"}');
      if (!req.url!.includes('watch=1')) return void res.end(JSON.stringify({ metadata: { resourceVersion: '50' }, items: [svc('z', '49')] }));
      hold(res);
    });
    await new Promise<void>((res) => server!.listen(port, '127.0.0.1', () => res()));
    await until(() => r.objects.has('default/z') && !r.objects.has('default/a'), 'the resync');
    expect(n).toBeGreaterThanOrEqual(2);
    expect(r.lastError).toBeNull();
  });

  it('a kind the server does not serve (404) is empty, synced, and looked for again', async () => {
    const { url, requests } = await fake([
      (_q, res) => res.writeHead(404).end('{"kind":"Status","code":404,"message":"the server could not find the requested resource"}'),
      (_q, res) => res.writeHead(404).end('{"kind":"Status","code":404,"message":"the server could not find the requested resource"}'),
      (_q, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '3' }, items: [svc('late', '3')] })),
      (_q, res) => hold(res),
    ]);
    const r = start(url);
    await r.start();
    expect(r.synced).toBe(true);
    await until(() => r.objects.has('default/late'), 'the CRD appearing');
    expect(r.missing).toBe(false);
    expect(requests.length).toBeGreaterThanOrEqual(3);
  });
});
