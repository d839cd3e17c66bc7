// A small in-memory Kubernetes API server for unit tests of the control plane's watchers and
// writers: collections by path (core `/api/v1/…` and `/apis/<group>/<version>/…`, namespaced
// or cluster-wide), list (with `fieldSelector=metadata.name=…`), watch (events pushed as objects
// change), POST (201, 409 AlreadyExists), PUT (409 on a stale resourceVersion), PATCH as JSON
// Patch (a failed `test` answers 422), DELETE. Every request is recorded; `fail` makes the
// next matching requests answer an error status (RBAC 403, a 500). Not a conformance fake: the
// tests against the real kube-apiserver check the same paths for real.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyJsonPatch } from './json-patch-apply.js';

type Obj = Record<string, any>;

interface Parsed { resource: string; namespace: string | null; name: string | null }

/** /api/v1/namespaces/ns/configmaps/name → {resource: 'v1/configmaps', namespace, name}. */
function parse(pathname: string): Parsed | null {
  const parts = pathname.split('/').filter((p) => p !== '');
  let gv: string;
  let rest: string[];
  if (parts[0] === 'api') { gv = parts[1]!; rest = parts.slice(2); } else if (parts[0] === 'apis') { gv = `${parts[1]}/${parts[2]}`; rest = parts.slice(3); } else return null;
  let namespace: string | null = null;
  if (rest[0] === 'namespaces' && rest.length >= 3) { namespace = rest[1]!; rest = rest.slice(2); }
  if (rest.length === 0) return null;
  return { resource: `${gv}/${rest[0]}`, namespace, name: rest[1] ?? null };
}

export class FakeKubeApi {
  readonly requests: Array<{ method: string; url: string; body: unknown }> = [];
  /** resource → `ns/name` → object. */
  readonly #store = new Map<string, Map<string, Obj>>();
  #rv = 100;
  readonly #watchers: Array<{ resource: string; namespace: string | null; name: string | null; res: ServerResponse }> = [];
  readonly #failures: Array<{ method: string; match: RegExp; status: number; times: number }> = [];
  #server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.#watchers) w.res.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  /** Answer the next `times` requests of `method` whose URL matches with `status`. */
  fail(method: string, match: RegExp, status: number, times = 1): void {
    this.#failures.push({ method, match, status, times });
  }

  /** Puts an object as a client would (the watchers see ADDED or MODIFIED). */
  put(resource: string, obj: Obj): Obj {
    const meta = obj.metadata as { namespace?: string; name: string };
    const coll = this.#coll(resource);
    const key = `${meta.namespace ?? ''}/${meta.name}`;
    const existed = coll.has(key);
    const stored = { ...obj, metadata: { uid: `uid-${meta.name}`, ...obj.metadata, resourceVersion: String(++this.#rv) } };
    coll.set(key, stored);
    this.#notify(resource, existed ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  delete(resource: string, namespace: string | null, name: string): void {
    const coll = this.#coll(resource);
    const key = `${namespace ?? ''}/${name}`;
    const obj = coll.get(key);
    if (obj === undefined) return;
    coll.delete(key);
    this.#notify(resource, 'DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } });
  }

  get(resource: string, namespace: string | null, name: string): Obj | undefined {
    return this.#coll(resource).get(`${namespace ?? ''}/${name}`);
  }

  list(resource: string): Obj[] {
    return [...this.#coll(resource).values()];
  }

  #coll(resource: string): Map<string, Obj> {
    let c = this.#store.get(resource);
    if (c === undefined) this.#store.set(resource, (c = new Map()));
    return c;
  }

  #notify(resource: string, type: string, obj: Obj): void {
    for (const w of this.#watchers) {
      if (w.resource !== resource) continue;
      if (w.namespace !== null && obj.metadata.namespace !== w.namespace) continue;
      if (w.name !== null && obj.metadata.name !== w.name) continue;
      w.res.write(JSON.stringify({ type, object: obj }) + '\n');
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      const body = text === '' ? undefined : JSON.parse(text);
      this.requests.push({ method: req.method!, url: req.url!, body });
      const answer = (status: number, obj: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
      const status = (code: number, message: string): void => answer(code, { kind: 'Status', code, message });
      const f = this.#failures.find((x) => x.method === req.method && x.times > 0 && x.match.test(req.url!));
      if (f !== undefined) {
        f.times--;
        return status(f.status, `injected ${f.status}`);
      }
      const url = new URL(req.url!, 'http://x');
      const p = parse(url.pathname);
      if (p === null) return status(404, 'not found');
      const byField = /^metadata\.name=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1] ?? null;
      const coll = this.#coll(p.resource);
      if (req.method === 'GET' && p.name === null) {
        if (url.searchParams.get('watch') === '1') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          const w = { resource: p.resource, namespace: p.namespace, name: byField, res };
          this.#watchers.push(w);
          res.on('close', () => this.#watchers.splice(this.#watchers.indexOf(w), 1));
          return;
        }
        const items = [...coll.values()].filter((o) => (p.namespace === null || o.metadata.namespace === p.namespace) && (byField === null || o.metadata.name === byField));
        return answer(200, { metadata: { resourceVersion: String(this.#rv) }, items });
      }
      const key = `${p.namespace ?? ''}/${p.name ?? body?.metadata?.name}`;
      const current = coll.get(key);
      switch (req.method) {
        case 'GET': return current ? answer(200, current) : status(404, `${key} not found`);
        case 'POST':
          if (current) return status(409, `${key} already exists`);
          return answer(201, this.put(p.resource, { ...body, metadata: { ...body.metadata, ...(p.namespace !== null ? { namespace: p.namespace } : {}) } }));
        case 'PUT':
          if (!current) return status(404, `${key} not found`);
          if (body.metadata?.resourceVersion !== current.metadata.resourceVersion) return status(409, 'the object has been modified');
          return answer(200, this.put(p.resource, body));
        case 'PATCH': {
          if (!current) return status(404, `${key} not found`);
          const ops = body as Array<{ op: string; path: string; value?: unknown }>;
          for (const op of ops.filter((o) => o.op === 'test')) {
            const at = op.path.split('/').slice(1).reduce((o: any, t) => o?.[t], current);
            if (JSON.stringify(at) !== JSON.stringify(op.value)) return status(422, `test failed at ${op.path}`);
          }
          return answer(200, this.put(p.resource, applyJsonPatch(current, ops.filter((o) => o.op !== 'test')) as Obj));
        }
        case 'DELETE':
          this.delete(p.resource, p.namespace, p.name!);
          return answer(200, {});
        default: return status(405, 'method');
      }
    });
  }
}
