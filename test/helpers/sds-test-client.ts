// A StreamSecrets client for tests over a Unix socket, with the same protobufjs codecs as the
// server: requests as plain objects, responses awaited one by one, the Secret messages decoded.
import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';

type Plain = Record<string, unknown>;
export const NODE = { id: 'sidecar~127.0.0.1~cart-1.shop~shop.svc.cluster.local' };

function sdsService(): ServiceDefinition {
  const root = envoyProtos();
  const codec = (name: string) => {
    const t = root.lookupType(name);
    return {
      serialize: (m: Plain): Buffer => Buffer.from(t.encode(t.fromObject(m)).finish()),
      deserialize: (b: Buffer): Plain => t.toObject(t.decode(b), { longs: String, enums: String, arrays: true, defaults: false }) as Plain,
    };
  };
  const req = codec('envoy.service.discovery.v3.DiscoveryRequest');
  const res = codec('envoy.service.discovery.v3.DiscoveryResponse');
  return {
    FetchSecrets: {
      path: '/envoy.service.secret.v3.SecretDiscoveryService/FetchSecrets', requestStream: false, responseStream: false,
      requestSerialize: req.serialize, requestDeserialize: req.deserialize, responseSerialize: res.serialize, responseDeserialize: res.deserialize,
    },
    StreamSecrets: {
      path: '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets', requestStream: true, responseStream: true,
      requestSerialize: req.serialize, requestDeserialize: req.deserialize, responseSerialize: res.serialize, responseDeserialize: res.deserialize,
    },
  } as unknown as ServiceDefinition;
}

/** A StreamSecrets stream over the socket at `path`, responses awaited one by one. */
export class SdsStream {
  readonly #call: ClientDuplexStream<Plain, Plain>;
  readonly #client: { close(): void };
  readonly #queue: Plain[] = [];
  readonly #waiters: Array<(m: Plain) => void> = [];
  error: { code?: number; details?: string } | null = null;

  constructor(path: string) {
    const Client = makeGenericClientConstructor(sdsService(), 'Sds');
    const client = new Client(`unix:${path}`, credentials.createInsecure()) as unknown as Record<string, () => ClientDuplexStream<Plain, Plain>> & { close(): void };
    this.#client = client;
    this.#call = client.StreamSecrets!();
    this.#call.on('error', (e: { code?: number; details?: string }) => (this.error = e));
    this.#call.on('data', (m: Plain) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
  }

  send(req: Plain): void {
    this.#call.write({ type_url: TYPE_URL.secret, ...req });
  }

  next(ms = 3000): Promise<Plain> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const w = (m: Plain): void => {
        clearTimeout(t);
        resolve(m);
      };
      const t = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no SDS response in ${ms} ms`));
      }, ms);
      this.#waiters.push(w);
    });
  }

  async quiet(ms = 400): Promise<boolean> {
    return this.next(ms).then(() => false, () => true);
  }

  cancel(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

/** The Secret messages of a response, decoded. */
export function secretsOf(res: Plain): Plain[] {
  const t = envoyProtos().lookupType('envoy.extensions.transport_sockets.tls.v3.Secret');
  return (res.resources as Array<{ type_url: string; value: Uint8Array }>).map((r) => {
    expect(r.type_url).toBe(TYPE_URL.secret);
    return t.toObject(t.decode(r.value), { bytes: String, arrays: true }) as Plain;
  });
}

/** A base64 bytes field as text. */
export const text = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('utf8');

/** One FetchSecrets call over the socket at `path`: the response, or the status it failed with. */
export function fetchSecrets(path: string, req: Plain): Promise<{ res: Plain | null; error: { code?: number; details?: string } | null }> {
  const Client = makeGenericClientConstructor(sdsService(), 'Sds');
  const client = new Client(`unix:${path}`, credentials.createInsecure()) as unknown as Record<string, (r: Plain, cb: (e: { code?: number; details?: string } | null, r?: Plain) => void) => void> & { close(): void };
  return new Promise((resolve) => {
    client.FetchSecrets!({ type_url: TYPE_URL.secret, ...req }, (error, res) => {
      client.close();
      resolve({ res: res ?? null, error });
    });
  });
}
