// A bare ADS client for the server's tests: opens a SotW or delta stream with the same
// protobufjs codecs, sends requests as plain objects and awaits responses one by one.
import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { envoyProtos } from '../../host/xds/envoy-protos.js';

type Plain = Record<string, unknown>;

function service(): ServiceDefinition {
  const root = envoyProtos();
  const codec = (name: string) => {
    const t = root.lookupType(name);
    return {
      serialize: (m: Plain): Buffer => Buffer.from(t.encode(t.fromObject(m)).finish()),
      deserialize: (b: Buffer): Plain => t.toObject(t.decode(b), { longs: String, enums: String, arrays: true, defaults: false }) as Plain,
    };
  };
  const base = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
  const sotwReq = codec('envoy.service.discovery.v3.DiscoveryRequest');
  const sotwRes = codec('envoy.service.discovery.v3.DiscoveryResponse');
  const deltaReq = codec('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const deltaRes = codec('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  return {
    sotw: { path: `${base}StreamAggregatedResources`, requestStream: true, responseStream: true, requestSerialize: sotwReq.serialize, requestDeserialize: sotwReq.deserialize, responseSerialize: sotwRes.serialize, responseDeserialize: sotwRes.deserialize },
    delta: { path: `${base}DeltaAggregatedResources`, requestStream: true, responseStream: true, requestSerialize: deltaReq.serialize, requestDeserialize: deltaReq.deserialize, responseSerialize: deltaRes.serialize, responseDeserialize: deltaRes.deserialize },
  } as unknown as ServiceDefinition;
}

export class TestAdsStream {
  readonly #call: ClientDuplexStream<Plain, Plain>;
  readonly #queue: Plain[] = [];
  readonly #waiters: Array<(m: Plain) => void> = [];
  error: { code?: number; details?: string } | null = null;
  readonly closed: Promise<void>;

  constructor(port: number, protocol: 'sotw' | 'delta') {
    const Client = makeGenericClientConstructor(service(), 'Ads');
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as Record<string, () => ClientDuplexStream<Plain, Plain>>;
    this.#call = client[protocol]!();
    this.#call.on('data', (m: Plain) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
    this.closed = new Promise((resolve) => {
      this.#call.on('error', (e: { code?: number; details?: string }) => {
        this.error = e;
        resolve();
      });
      this.#call.on('end', () => resolve());
    });
  }

  send(req: Plain): void {
    this.#call.write(req);
  }

  /** The next response (rejects after `ms`). */
  next(ms = 3000): Promise<Plain> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no response in ${ms} ms${this.error ? ` (stream error ${this.error.code}: ${this.error.details})` : ''}`));
      }, ms);
      const w = (m: Plain): void => {
        clearTimeout(t);
        resolve(m);
      };
      this.#waiters.push(w);
    });
  }

  /** Resolves true when no response arrives within `ms`. */
  async quiet(ms = 300): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.#call.end();
    this.#call.cancel();
  }
}
