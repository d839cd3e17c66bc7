// A malformed Istio object in the API server is reported ON that object: a Kubernetes Event
// (core v1, type Warning, reason `Rejected`) whose involvedObject is the object (kind, name,
// namespace, uid, resourceVersion), so `kubectl describe virtualservice broken` and `kubectl get
// events` show why the mesh does not serve it — the loader's located message (`spec.http[0]
// .timeout: …`), under Istio's analyzer code for a schema error (IST0106 SchemaValidationError).
// One Event per object and resourceVersion (KubeResourceSource calls once per read); sent in the
// background, in order, at most `maxQueued` waiting (the oldest dropped past that, counted); a
// failure (403 without the RBAC for events) is logged once and the rest keeps serving.
import { hostname } from 'node:os';
import type { KubeApi } from './kube-api.js';
import type { RejectedObject } from './kube-resource-source.js';

export const EVENT_REASON = 'Rejected';
export const EVENT_COMPONENT = 'wasmesh-control-plane';
/** The API server keeps an Event's message short; kubectl shows the start. */
const MAX_MESSAGE = 1024;

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The Event for one refused object (pure: the tests compare it). */
export function rejectionEvent(r: RejectedObject, now: Date, instance: string): Record<string, unknown> {
  const time = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const reasons = r.issues.map((i) => i.replace(/^kube-apiserver \S+ \S+: /, '')).join('; ');
  let message = `IST0106 (SchemaValidationError) ${r.kind} ${r.namespace}/${r.name} is not served by the mesh: ${reasons}`;
  if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    // client-go's recorder: <object name>.<unique hex>.
    metadata: { name: `${r.name}.${(now.getTime() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`, namespace: r.namespace },
    involvedObject: { apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, resourceVersion: r.resourceVersion },
    reason: EVENT_REASON,
    message,
    type: 'Warning',
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: instance,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

export class RejectionEvents {
  readonly #api: KubeApi;
  readonly #log: Log;
  readonly #queue: RejectedObject[] = [];
  readonly #maxQueued: number;
  readonly #instance: string;
  #sending: Promise<void> | null = null;
  #lastError: string | null = null;
  readonly stats = { sent: 0, failed: 0, dropped: 0 };

  constructor(api: KubeApi, log: Log, opts: { maxQueued?: number; instance?: string } = {}) {
    this.#api = api;
    this.#log = log;
    this.#maxQueued = opts.maxQueued ?? 1000;
    this.#instance = opts.instance ?? hostname();
  }

  report(r: RejectedObject): void {
    if (r.namespace === '') return; // no cluster-scoped Istio kinds; nothing to attach to
    this.#queue.push(r);
    while (this.#queue.length > this.#maxQueued) {
      this.#queue.shift();
      this.stats.dropped++;
    }
    this.#sending ??= this.#drain().finally(() => (this.#sending = null));
  }

  /** Resolves when every queued Event was sent or failed. */
  async idle(): Promise<void> {
    while (this.#sending !== null) await this.#sending;
  }

  async #drain(): Promise<void> {
    for (let r = this.#queue.shift(); r !== undefined; r = this.#queue.shift()) {
      try {
        await this.#api.send('POST', `/api/v1/namespaces/${r.namespace}/events`, rejectionEvent(r, new Date(), this.#instance));
        this.stats.sent++;
        this.#lastError = null;
      } catch (err) {
        this.stats.failed++;
        const message = (err as Error).message;
        if (message !== this.#lastError) this.#log('warn', `kube: could not record the Event for ${r.kind} ${r.namespace}/${r.name} (it is logged here instead): ${message}`);
        this.#lastError = message;
      }
    }
  }
}
