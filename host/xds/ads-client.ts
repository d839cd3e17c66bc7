// A wasmesh proxy's side of ADS: one stream to the control plane, the node sent on its first
// request, each response handed to the proxy to apply and then ACKed — or NACKed with the proxy's
// reason, the last good config serving on — and a new stream after jittered exponential backoff
// whenever the control plane is away. Nothing here stops serving: the proxy applies a config or
// keeps the one it has.
//
// Incremental (DeltaAggregatedResources, the default): a wildcard subscription per type; the
// client keeps the resources it holds by name, and each response's added or changed resources
// and removed_resources make the set handed to the proxy (always whole). The control plane sends
// only what differs from what the proxy ACKed, and never again a version the proxy NACKed (until
// another version of that resource comes): so on a NACK the applied set stays what the client
// holds, and the refused pieces are kept aside — the control plane's view of them — and laid over
// the applied set with the next response (which may need them: the control plane will not
// resend them). A new stream sends initial_resource_versions of the applied set, and the control
// plane sends only what differs. State of the world (`protocol: 'sotw'`) sends every resource of
// the type on every change.
import { credentials, makeGenericClientConstructor, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { envoyProtos } from './envoy-protos.js';

type Plain = Record<string, unknown>;

/**
 * What the client gives the proxy: every resource of one type it would hold after this response
 * (state of the world: the response's; delta: the held set with the response applied).
 */
export interface AdsUpdate {
  typeUrl: string;
  version: string;
  resources: Array<{ type_url: string; value: Uint8Array }>;
  /** Resources the response carried (delta: added or changed; state of the world: all). */
  received: number;
  /** Delta: names the response removed. */
  removed: number;
}

/** A resource held by name (delta). */
interface Held {
  version: string;
  body: { type_url: string; value: Uint8Array };
}

export interface AdsClientOptions {
  target: { host: string; port: number };
  node: { id: string; cluster: string; metadata: Record<string, unknown> };
  /** The types to subscribe to (wildcard). */
  types: string[];
  /** Applies an update; returns null to ACK, or the reason to NACK (the proxy keeps what it had). */
  apply(update: AdsUpdate): string | null;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Reconnect backoff: first delay and cap (ms), fully jittered; defaults 500 ms and 30 s. */
  backoff?: { baseMs: number; maxMs: number };
  /** The ADS variant; default 'delta' (only what changed travels). */
  protocol?: 'delta' | 'sotw';
  /** xDS over TLS (istiod's 15012) instead of plaintext (15010). */
  tls?: AdsTls;
}

/** How a proxy reaches the control plane's TLS xDS port, as Istio's agent does. */
export interface AdsTls {
  /** The roots the control plane's serving certificate must chain to (the CA's root-cert.pem). */
  readonly rootsPem: string;
  /** The name its certificate must carry, whatever address is dialled: istiod.istio-system.svc. */
  readonly serverName: string;
  /** Sent as `authorization: Bearer <token>` on every stream; read each time (a token file may be rewritten). */
  readonly token: () => string;
  /** The proxy's workload certificate, presented as the client certificate once it holds one (mTLS). */
  readonly certificate?: WorkloadCertificateSource;
}

/** TLS channel credentials that check the server as `tls.serverName`, carry the token, and present the workload certificate held now. */
function tlsCredentials(tls: AdsTls): ChannelCredentials {
  const bearer = credentials.createFromMetadataGenerator((_params, callback) => {
    try {
      const md = new Metadata();
      md.set('authorization', `Bearer ${tls.token().trim()}`);
      callback(null, md);
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
    }
  });
  const cert = tls.certificate?.current() ?? null;
  const ssl = cert
    ? credentials.createSsl(Buffer.from(tls.rootsPem), Buffer.from(cert.keyPem), Buffer.from(cert.certChainPem))
    : credentials.createSsl(Buffer.from(tls.rootsPem));
  return credentials.combineChannelCredentials(ssl, bearer);
}

function service(protocol: 'delta' | 'sotw'): ServiceDefinition {
  const root = envoyProtos();
  const delta = protocol === 'delta' ? 'Delta' : '';
  const req = root.lookupType(`envoy.service.discovery.v3.${delta}DiscoveryRequest`);
  const res = root.lookupType(`envoy.service.discovery.v3.${delta}DiscoveryResponse`);
  return {
    stream: {
      path: `/envoy.service.discovery.v3.AggregatedDiscoveryService/${delta ? 'DeltaAggregatedResources' : 'StreamAggregatedResources'}`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: Plain) => Buffer.from(req.encode(req.fromObject(m)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b)),
      responseSerialize: (m: Plain) => Buffer.from(res.encode(res.fromObject(m)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), { longs: String, enums: String, arrays: true, defaults: false }),
    },
  } as unknown as ServiceDefinition;
}

/** Istio's node metadata as a google.protobuf.Struct object (camelCase members: protobufjs's struct.proto). */
function toStruct(v: Record<string, unknown>): Plain {
  const value = (x: unknown): Plain => {
    if (x === null || x === undefined) return { nullValue: 'NULL_VALUE' };
    if (typeof x === 'string') return { stringValue: x };
    if (typeof x === 'number') return { numberValue: x };
    if (typeof x === 'boolean') return { boolValue: x };
    if (Array.isArray(x)) return { listValue: { values: x.map(value) } };
    return { structValue: toStruct(x as Record<string, unknown>) };
  };
  return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) };
}

type GrpcAdsClient = { stream(): ClientDuplexStream<Plain, Plain>; close(): void };

export class AdsClient {
  readonly #opts: AdsClientOptions;
  #client: GrpcAdsClient;
  readonly #unsubscribe: (() => void) | null;
  #call: ClientDuplexStream<Plain, Plain> | null = null;
  #closed = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;
  /** SotW, per type: the version last applied (ACKed), sent again on a new stream. */
  readonly #applied = new Map<string, string>();
  /** Delta, per type: the resources of the last applied set, by name. */
  readonly #held = new Map<string, Map<string, Held>>();
  /** Delta, per type: pieces of a NACKed response (on this stream), which the control plane will not resend. */
  readonly #refused = new Map<string, Map<string, Held>>();
  readonly #protocol: 'delta' | 'sotw';
  #connected = false;

  constructor(opts: AdsClientOptions) {
    this.#opts = opts;
    this.#protocol = opts.protocol ?? 'delta';
    this.#client = this.#newClient();
    // A new workload certificate: a new channel presents it (the stream reopens, the held config is kept).
    this.#unsubscribe = opts.tls?.certificate?.subscribe(() => this.#rechannel()) ?? null;
  }

  #newClient(): GrpcAdsClient {
    const Client = makeGenericClientConstructor(service(this.#protocol), 'AggregatedDiscoveryService');
    const { host, port } = this.#opts.target;
    const tls = this.#opts.tls;
    return new Client(`${host.includes(':') ? `[${host}]` : host}:${port}`, tls ? tlsCredentials(tls) : credentials.createInsecure(), {
      // Dial the address, check the certificate for the control plane's service name.
      ...(tls ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {}),
      // The control plane may be away for long: keep trying, never give up the channel.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // The channel's own reconnect backoff (grpc-js: 1 s growing to 120 s) within the stream's,
      // so a control plane back after a long absence is found within the 30 s cap, not 2 min.
      'grpc.initial_reconnect_backoff_ms': this.#opts.backoff?.baseMs ?? 500,
      'grpc.max_reconnect_backoff_ms': this.#opts.backoff?.maxMs ?? 30_000,
    } as never) as unknown as GrpcAdsClient;
  }

  #rechannel(): void {
    if (this.#closed) return;
    const old = this.#client;
    this.#client = this.#newClient();
    const call = this.#call;
    if (call !== null) {
      this.#opts.log('info', 'xDS: a new workload certificate; reopening the stream to present it (the config held keeps serving)');
      // Forgotten first, so that its end is not taken for a lost stream.
      this.#call = null;
      call.cancel();
      this.#open();
    }
    old.close();
  }

  /** A stream is open and has received at least one response. */
  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#open();
  }

  #open(): void {
    if (this.#closed) return;
    const call = this.#client.stream();
    this.#call = call;
    let first = true;
    call.on('data', (res: Plain) => {
      if (this.#call !== call) return;
      this.#attempt = 0;
      this.#connected = true;
      if (this.#protocol === 'delta') this.#onDeltaResponse(call, res);
      else this.#onResponse(call, res);
    });
    const lost = (why: string): void => {
      if (this.#call !== call) return;
      this.#call = null;
      this.#connected = false;
      if (this.#closed) return;
      this.#scheduleReconnect(why);
    };
    call.on('error', (e: { details?: string; message?: string }) => lost(e.details || e.message || 'stream error'));
    call.on('end', () => lost('the control plane ended the stream'));
    // Refusals belong to the stream that was refused: a new one resends what differs.
    this.#refused.clear();
    for (const type of this.#opts.types) {
      const req: Plain = this.#protocol === 'delta'
        ? { type_url: type, resource_names_subscribe: ['*'], initial_resource_versions: Object.fromEntries([...(this.#held.get(type) ?? [])].map(([n, h]) => [n, h.version])) }
        : { type_url: type, version_info: this.#applied.get(type) ?? '' };
      if (first) req.node = { id: this.#opts.node.id, cluster: this.#opts.node.cluster, metadata: toStruct(this.#opts.node.metadata), user_agent_name: 'wasmesh' };
      first = false;
      call.write(req);
    }
  }

  #onResponse(call: ClientDuplexStream<Plain, Plain>, res: Plain): void {
    const typeUrl = String(res.type_url ?? '');
    const version = String(res.version_info ?? '');
    const nonce = String(res.nonce ?? '');
    const resources = ((res.resources as Array<{ type_url: string; value: Uint8Array }> | undefined) ?? []);
    let error: string | null;
    error = this.#tryApply({ typeUrl, version, resources, received: resources.length, removed: 0 });
    if (error === null) {
      this.#applied.set(typeUrl, version);
      call.write({ type_url: typeUrl, version_info: version, response_nonce: nonce });
    } else {
      this.#opts.log('warn', `xDS: NACK ${typeUrl} version ${version}: ${error}`);
      call.write({ type_url: typeUrl, version_info: this.#applied.get(typeUrl) ?? '', response_nonce: nonce, error_detail: { code: 3, message: error } });
    }
  }

  #tryApply(u: AdsUpdate): string | null {
    try {
      return this.#opts.apply(u);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  #onDeltaResponse(call: ClientDuplexStream<Plain, Plain>, res: Plain): void {
    const typeUrl = String(res.type_url ?? '');
    const version = String(res.system_version_info ?? '');
    const nonce = String(res.nonce ?? '');
    const added = (res.resources as Array<{ name?: string; version?: string; resource?: { type_url: string; value: Uint8Array } }> | undefined) ?? [];
    const removed = (res.removed_resources as string[] | undefined) ?? [];
    const held = this.#held.get(typeUrl);
    const refused = this.#refused.get(typeUrl) ?? new Map<string, Held>();
    let error: string | null = null;
    const next = new Map(held ?? []);
    for (const [name, h] of refused) next.set(name, h);
    const changed = new Map<string, Held>();
    for (const [i, r] of added.entries()) {
      if (typeof r.name !== 'string' || r.name === '' || !r.resource) {
        error = `resource ${i} of the response has no name or no body`;
        break;
      }
      const h: Held = { version: String(r.version ?? ''), body: { type_url: r.resource.type_url, value: r.resource.value } };
      changed.set(r.name, h);
      next.set(r.name, h);
    }
    for (const name of removed) next.delete(name);
    // A new stream's answer when nothing differs from what is applied: nothing to apply again.
    const nothing = added.length === 0 && removed.length === 0 && refused.size === 0 && held !== undefined;
    if (error === null && !nothing) {
      error = this.#tryApply({ typeUrl, version, resources: [...next.values()].map((h) => h.body), received: added.length, removed: removed.length });
    }
    if (error === null) {
      this.#held.set(typeUrl, next);
      this.#refused.delete(typeUrl);
      call.write({ type_url: typeUrl, response_nonce: nonce });
    } else {
      // The control plane keeps what was ACKed as what this proxy holds, and does not send these versions again.
      for (const [name, h] of changed) refused.set(name, h);
      this.#refused.set(typeUrl, refused);
      this.#opts.log('warn', `xDS: NACK ${typeUrl} version ${version}: ${error}`);
      call.write({ type_url: typeUrl, response_nonce: nonce, error_detail: { code: 3, message: error } });
    }
  }

  #scheduleReconnect(why: string): void {
    const { baseMs, maxMs } = this.#opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const cap = Math.min(maxMs, baseMs * 2 ** Math.min(this.#attempt, 16));
    this.#attempt++;
    // Full jitter: proxies that lost the same control plane do not all come back at once.
    const delay = Math.floor(Math.random() * cap);
    this.#opts.log('warn', `xDS: ${why}; reconnecting in ${delay} ms (serving the last config meanwhile)`);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#open();
    }, delay);
    this.#retry.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const call = this.#call;
    this.#call = null;
    call?.cancel();
    this.#unsubscribe?.();
    this.#client.close();
  }
}
