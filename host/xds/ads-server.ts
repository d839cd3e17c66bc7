// Envoy's Aggregated Discovery Service over gRPC, both variants of the protocol: state of the
// world (StreamAggregatedResources) and incremental (DeltaAggregatedResources). Per stream and
// type it keeps the subscription, what was sent (version, nonce) and what the proxy ACKed or
// NACKed; it answers requests and pushes what changed in the proxy's snapshot, in Envoy's
// warming order (clusters before endpoints, listeners before routes). Messages are encoded and
// decoded by protobufjs from Envoy's own .proto files.
//
// Protocol rules followed (xDS REST and gRPC protocol, "ACK/NACK and resource type instance
// version", "Resource updates", "Incremental xDS"):
//  - a request whose response_nonce is not the latest sent on this stream for its type is stale:
//    it changes nothing and is answered with nothing. Nonces belong to their stream: the first
//    request of a type on a new stream that carries one (a client back from an earlier stream)
//    is answered as a first request, as istiod does, and ACKs nothing;
//  - bytes that are not a request, a first request without a node id, and a type this proxy is
//    not served end the stream with INVALID_ARGUMENT; other streams are unaffected;
//  - error_detail on a request NACKs the response with that nonce: the proxy keeps its last
//    ACKed version, the NACK is recorded, and the same version is not sent again;
//  - LDS, CDS and wasmesh's type are wildcard when no names are given; RDS and EDS send the
//    names asked for (a name that does not exist is left out: in state of the world the answer
//    may hold no resources; in delta a name subscribed that does not exist is answered in
//    removed_resources, the incremental protocol's way of saying so). In delta, the endpoints
//    of a cluster sent at another version follow it, changed or not (Envoy warms the replaced
//    cluster until they come and does not ask for them again). In state of the world LDS
//    and CDS responses are the complete set, but RDS and EDS ones need not be ("Resource
//    updates": a resource left out is not removed): a change sends only the routes or endpoints
//    that differ from what the stream was last sent, as istiod's incremental EDS does; a request
//    naming other resources, or after a NACK, gets every name asked for. In state of the world an empty
//    list is a wildcard only until the stream names resources of that type: after that it
//    unsubscribes from all of them ("legacy wildcard"; a proxyless gRPC client closing its last
//    channel sends one, and must not be sent every listener). A type the proxy asks for no
//    resource of is pushed no change, and an empty list on RDS or EDS is not answered: Envoy,
//    its last watch of the type gone, takes such a response without ACKing it (it would show
//    STALE for ever): its state is IGNORED. Such an empty list is taken even with a stale nonce
//    (Envoy sends the nonce it had when its last watch went, though a response was on its way).
//
// The same streams serve SDS (`service: 'secret'`, envoy.service.secret.v3.SecretDiscoveryService
// StreamSecrets, state of the world, and FetchSecrets, unary), for the workload agent
// (host/xds/sds-server.ts): on a stream a response with no resource is never sent, because Envoy NACKs an SDS response without the secret
// it asked for ("Missing SDS resources") where it should wait for the secret to exist.
import { Server, ServerCredentials, status as GrpcStatus, type Metadata, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { envoyProtos, TYPE_URL } from './envoy-protos.js';
import { readNode, XdsNodeError, type XdsNode } from './xds-node.js';
import type { SnapshotCache, ProxySnapshot, TypeSnapshot } from './snapshot.js';
import { emptyTypeSync, type ProxySync, type TypeSync } from './sync-status.js';
import { WriteThrottle, type ThrottledWrite } from './write-throttle.js';
import { formatHostPort } from '../common/host-port.js';

type Plain = Record<string, unknown>;

/** Envoy's warming order: a push sends changed types in this order. */
const ORDER = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route];
const rank = (t: string): number => {
  const i = ORDER.indexOf(t as (typeof ORDER)[number]);
  return i < 0 ? ORDER.length : i;
};

export interface AdsEvents {
  connected?(node: XdsNode, protocol: 'sotw' | 'delta'): void;
  disconnected?(node: XdsNode): void;
  sent?(node: XdsNode, typeUrl: string, version: string, nonce: string, resources: number, bytes: number): void;
  acked?(node: XdsNode, typeUrl: string, version: string, convergenceMs: number | null): void;
  nacked?(node: XdsNode, typeUrl: string, version: string, message: string): void;
  /** A request the protocol says to ignore or refuse (stale nonce, unknown type …). */
  rejected?(node: XdsNode | null, reason: string): void;
}

export interface AdsServerOptions {
  cache: SnapshotCache;
  /**
   * A proxy opened a stream: the cache must hold its snapshot before this returns. Throws
   * (XdsNodeError or another error with a message) to refuse the proxy.
   */
  connect(node: XdsNode): void;
  /** A proxy's last stream ended. */
  disconnect(node: XdsNode): void;
  /** Whether this proxy may ask for the type (unknown types end the stream with INVALID_ARGUMENT). */
  servesType(node: XdsNode, typeUrl: string): boolean;
  /** When the change behind a proxy's current snapshot happened (convergence time), if known. */
  changedAt?(proxyId: string): number | null;
  events?: AdsEvents;
  /** Response bytes written at once across all streams (write-throttle.ts); default 4 MiB. */
  maxWriteBytes?: number;
  /**
   * The gRPC service offered: Envoy's ADS (default), or SDS's StreamSecrets (state of the world,
   * the same messages), where a response holding no resource is withheld (Envoy waits).
   */
  service?: 'aggregated' | 'secret';
  /**
   * The `secret` variant's FetchSecrets (one request, one response, no stream): the type's
   * current snapshot for this proxy. Absent: FetchSecrets answers UNIMPLEMENTED.
   */
  fetch?(node: XdsNode, typeUrl: string): TypeSnapshot | undefined;
}

/** The default bound on response bytes being written at once. */
export const MAX_WRITE_BYTES = 4 * 1024 * 1024;

let nonceCounter = 0;
const newNonce = (): string => (++nonceCounter).toString(36);

/**
 * Marks a request whose bytes do not decode: the stream answers it with INVALID_ARGUMENT (grpc-js
 * would end the call with INTERNAL, a server fault, were the decoder to throw).
 */
const UNDECODABLE = Symbol('undecodable');

/** The codecs of the two ADS methods (or SDS's StreamSecrets), from the protobufjs root. */
function adsService(root: protobuf.Root, which: 'aggregated' | 'secret'): ServiceDefinition {
  const decoder = (name: string) => {
    const t = root.lookupType(name);
    return (b: Buffer): Plain => {
      try {
        return t.toObject(t.decode(b), { longs: String, enums: String, oneofs: true, arrays: true, defaults: false }) as Plain;
      } catch (err) {
        return { [UNDECODABLE]: `not a ${name}: ${err instanceof Error ? err.message : String(err)}` } as Plain;
      }
    };
  };
  const encoder = (name: string) => {
    const t = root.lookupType(name);
    return (m: Plain): Buffer => {
      const bytes = t.encode(t.fromObject(m)).finish();
      // protobufjs hands back a Buffer under Node: wrapped, not copied (responses run to megabytes).
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    };
  };
  if (which === 'secret') {
    return {
      StreamSecrets: {
        path: '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets', requestStream: true, responseStream: true,
        requestDeserialize: decoder('envoy.service.discovery.v3.DiscoveryRequest'),
        requestSerialize: encoder('envoy.service.discovery.v3.DiscoveryRequest'),
        responseDeserialize: decoder('envoy.service.discovery.v3.DiscoveryResponse'),
        responseSerialize: encoder('envoy.service.discovery.v3.DiscoveryResponse'),
      },
      FetchSecrets: {
        path: '/envoy.service.secret.v3.SecretDiscoveryService/FetchSecrets', requestStream: false, responseStream: false,
        requestDeserialize: decoder('envoy.service.discovery.v3.DiscoveryRequest'),
        requestSerialize: encoder('envoy.service.discovery.v3.DiscoveryRequest'),
        responseDeserialize: decoder('envoy.service.discovery.v3.DiscoveryResponse'),
        responseSerialize: encoder('envoy.service.discovery.v3.DiscoveryResponse'),
      },
    } as unknown as ServiceDefinition;
  }
  const base = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
  return {
    StreamAggregatedResources: {
      path: `${base}StreamAggregatedResources`, requestStream: true, responseStream: true,
      requestDeserialize: decoder('envoy.service.discovery.v3.DiscoveryRequest'),
      requestSerialize: encoder('envoy.service.discovery.v3.DiscoveryRequest'),
      responseDeserialize: decoder('envoy.service.discovery.v3.DiscoveryResponse'),
      responseSerialize: encoder('envoy.service.discovery.v3.DiscoveryResponse'),
    },
    DeltaAggregatedResources: {
      path: `${base}DeltaAggregatedResources`, requestStream: true, responseStream: true,
      requestDeserialize: decoder('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      requestSerialize: encoder('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      responseDeserialize: decoder('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
      responseSerialize: encoder('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
    },
  } as unknown as ServiceDefinition;
}

/** One type on one stream. */
interface TypeState {
  /** SotW: names asked for (null: wildcard). Delta: names subscribed (with wildcard flag). */
  names: Set<string> | null;
  /** SotW: the stream has named resources of this type (an empty list then means none). */
  named: boolean;
  wildcard: boolean;
  /** Delta: the version of each resource the proxy holds (what it said it had, then what it ACKed). */
  known: Map<string, string>;
  /** Delta: what the last response set, applied to `known` on its ACK. */
  inFlight: Map<string, string | null> | null;
  /** The nonce of the last response of this type on this stream (the proxy's sync may be another stream's). */
  sentNonce: string | null;
  /**
   * Delta: a push was due while a response was in flight (a subscription, a change): it goes
   * after that response's ACK or NACK, with the names subscribed meanwhile that do not exist.
   */
  pending: Set<string> | null;
  /** Delta: resource versions the proxy NACKed, not sent again. */
  refused: Map<string, string>;
  /**
   * Delta EDS: names to send on the next push though the proxy holds their version (the
   * endpoints of a cluster it was sent anew, which warms until they come again).
   */
  resend: Set<string>;
  /** SotW, RDS and EDS: the version of each resource sent on this stream (a change sends the others). */
  sent: Map<string, string>;
  sync: TypeSync;
}

type Stream = ServerDuplexStream<Plain, Plain>;

/** Who opened a stream, as the port's authentication proved it (the client certificate's or the token's namespace and service account). */
export interface StreamCaller {
  readonly namespace: string;
  readonly serviceAccount: string;
}

abstract class AdsStream {
  protected readonly server: AdsServer;
  protected readonly call: Stream;
  protected node: XdsNode | null = null;
  protected readonly types = new Map<string, TypeState>();
  protected sync: ProxySync | null = null;
  #unwatch: (() => void) | null = null;
  #ended = false;
  /** Writes waiting for the throttle (their cancels), and those started and not yet handed over. */
  readonly #waiting = new Set<() => void>();
  readonly #writing = new Set<ThrottledWrite>();
  readonly #caller: StreamCaller | null;

  constructor(server: AdsServer, call: Stream, caller: StreamCaller | null = null) {
    this.server = server;
    this.call = call;
    this.#caller = caller;
    server.streams.add(this);
    call.on('data', (req: Plain) => this.#onRequest(req));
    call.on('end', () => this.end());
    call.on('error', () => this.end());
    call.on('cancelled', () => this.end());
  }

  abstract get protocol(): 'sotw' | 'delta';
  protected abstract handle(req: Plain, type: string): void;
  /** Sends the type; `changed`: because the snapshot changed (not because the proxy asked for other names). */
  /** Pushes a change of `type` (the snapshot moved on). */
  protected abstract pushChange(type: string): void;

  #onRequest(req: Plain): void {
    if (this.#ended) return;
    const undecodable = (req as Record<symbol, unknown>)[UNDECODABLE];
    if (typeof undecodable === 'string') {
      this.#fail(GrpcStatus.INVALID_ARGUMENT, undecodable);
      return;
    }
    try {
      if (this.node === null) {
        const node = readNode(req.node);
        // As istiod: an authenticated caller gets only its own namespace's and service account's config.
        const c = this.#caller;
        if (c !== null && (node.namespace !== c.namespace || node.serviceAccount !== c.serviceAccount)) {
          this.#fail(GrpcStatus.PERMISSION_DENIED, `xDS refused: the caller authenticated (certificate or token) as namespace ${c.namespace}, service account ${c.serviceAccount}; the node ${node.id} claims namespace ${node.namespace}, service account ${node.serviceAccount}`);
          return;
        }
        this.node = node;
        this.server.opts.connect(this.node);
        this.sync = this.server.register(this.node, this.protocol);
        this.#unwatch = this.server.opts.cache.watch(this.node.id, (types) => this.#onChange(types));
        this.server.opts.events?.connected?.(this.node, this.protocol);
      }
      const type = String(req.type_url ?? '');
      if (type === '' || !this.server.opts.servesType(this.node, type)) {
        this.#fail(GrpcStatus.INVALID_ARGUMENT, `unknown or unserved type_url ${JSON.stringify(type)}`);
        return;
      }
      this.handle(req, type);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#fail(err instanceof XdsNodeError ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.INTERNAL, message);
    }
  }

  #onChange(types: readonly string[]): void {
    if (this.#ended) return;
    for (const t of [...types].sort((a, b) => rank(a) - rank(b))) if (this.types.has(t)) this.pushChange(t);
  }

  protected snapshot(type: string): TypeSnapshot | undefined {
    return (this.server.opts.cache.get(this.node!.id) as ProxySnapshot | undefined)?.get(type);
  }

  protected state(type: string): TypeState {
    let s = this.types.get(type);
    if (!s) {
      let sync = this.sync!.types.get(type);
      if (!sync) this.sync!.types.set(type, (sync = emptyTypeSync()));
      s = { names: null, named: false, wildcard: true, known: new Map(), inFlight: null, sentNonce: null, pending: null, refused: new Map(), resend: new Set(), sent: new Map(), sync };
      this.types.set(type, s);
    }
    return s;
  }

  protected send(type: string, msg: Plain, version: string, nonce: string, resources: number): void {
    const s = this.types.get(type)!;
    s.sentNonce = nonce;
    s.sync.sentVersion = version;
    s.sync.sentNonce = nonce;
    s.sync.sentAt = Date.now();
    s.sync.changedAt = this.server.opts.changedAt?.(this.node!.id) ?? s.sync.sentAt;
    s.sync.resources = resources;
    const bytes = (msg.resources as Array<{ value?: Uint8Array; resource?: { value: Uint8Array } }> | undefined ?? [])
      .reduce((n, r) => n + (r.value?.length ?? r.resource?.value.length ?? 0), 0);
    this.server.opts.events?.sent?.(this.node!, type, version, nonce, resources, bytes);
    this.#write(msg, bytes);
  }

  /** Writes `msg` when the server's write throttle has room (in order with this stream's other writes). */
  #write(msg: Plain, bytes: number): void {
    let started = false;
    let cancel: (() => void) | null = null;
    cancel = this.server.throttle.submit(bytes, (w) => {
      started = true;
      if (cancel !== null) this.#waiting.delete(cancel);
      if (this.#ended) {
        w.done();
        return;
      }
      this.#writing.add(w);
      const handedOver = (): void => {
        this.#writing.delete(w);
        w.done();
      };
      try {
        this.call.write(msg, handedOver);
      } catch (err) {
        // Started from another stream's callback: this stream's failure must stay its own.
        handedOver();
        this.server.opts.events?.rejected?.(this.node, `cannot write a response: ${err instanceof Error ? err.message : String(err)}`);
        this.end();
      }
    });
    if (!started) this.#waiting.add(cancel);
  }

  protected ack(type: string, version: string, nonce: string): void {
    const s = this.types.get(type)!;
    const sync = s.sync;
    const first = sync.ackedNonce !== nonce;
    sync.ackedVersion = version;
    sync.ackedNonce = nonce;
    sync.ackedAt = Date.now();
    if (first) this.server.opts.events?.acked?.(this.node!, type, version, sync.changedAt === null ? null : sync.ackedAt - sync.changedAt);
  }

  protected nack(type: string, nonce: string, error: Plain): void {
    const s = this.types.get(type)!;
    const message = typeof error.message === 'string' && error.message !== '' ? error.message : `code ${String(error.code ?? 'unknown')}`;
    s.sync.nack = { version: s.sync.sentVersion ?? '', nonce, message, at: Date.now() };
    this.server.opts.events?.nacked?.(this.node!, type, s.sync.sentVersion ?? '', message);
  }

  protected stale(reason: string): void {
    this.server.opts.events?.rejected?.(this.node, reason);
  }

  /**
   * Whether the request's nonce lets it through: none, or the latest sent on this stream for the
   * type. On the stream's first request of the type a nonce is another stream's (a reconnect):
   * the request goes through as a first one, its nonce ignored. Otherwise a stale request.
   */
  protected nonceState(nonce: string, fresh: boolean, s: TypeState, type: string): 'none' | 'current' | 'stale' {
    if (nonce === '') return 'none';
    if (fresh) {
      this.stale(`nonce ${nonce} for ${type} was not sent on this stream (a reconnect): answered as a first request`);
      return 'none';
    }
    if (nonce === s.sentNonce) return 'current';
    this.stale(`stale nonce ${nonce} for ${type} (latest ${s.sentNonce ?? 'none'})`);
    return 'stale';
  }

  #fail(code: GrpcStatus, details: string): void {
    this.server.opts.events?.rejected?.(this.node, details);
    if (this.#ended) return;
    this.call.emit('error', { code, details });
    this.end();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.server.streams.delete(this);
    this.#unwatch?.();
    for (const cancel of this.#waiting) cancel();
    this.#waiting.clear();
    // A cancelled call never calls back its writes: their bytes leave the bound now.
    for (const w of this.#writing) w.done();
    this.#writing.clear();
    if (this.node) this.server.unregister(this.node, this.sync!);
    try {
      this.call.end();
    } catch {
      // already closed
    }
  }
}

/** State of the world: every response carries the whole set of the type (or of the names asked for). */
class SotwStream extends AdsStream {
  get protocol(): 'sotw' {
    return 'sotw';
  }

  protected handle(req: Plain, type: string): void {
    const fresh = !this.types.has(type);
    const s = this.state(type);
    const nonce = String(req.response_nonce ?? '');
    const said = this.nonceState(nonce, fresh, s, type);
    const asked = (req.resource_names as string[] | undefined) ?? [];
    const names = asked.includes('*') ? null : asked.length > 0 ? new Set(asked) : s.named ? new Set<string>() : null;
    const nothingAsked = names !== null && names.size === 0;
    const snap = this.snapshot(type);
    if (said === 'stale') {
      // Envoy dropping its last watch of RDS or EDS says so with the nonce it had when it
      // dropped it, which a response already on its way makes stale: the proxy still asks for
      // nothing more of the type (and is answered nothing, as below).
      if (nothingAsked && snap !== undefined && !snap.wildcard) {
        s.names = names;
        s.sync.watching = false;
      }
      return;
    }
    if (said === 'current') {
      if (req.error_detail) {
        this.nack(type, nonce, req.error_detail as Plain);
        // The proxy kept what it had before: whatever follows is sent whole.
        s.sent.clear();
      } else this.ack(type, String(req.version_info ?? ''), nonce);
    }
    if (asked.length > 0) s.named = true;
    const changed = fresh || !sameNames(s.names, names);
    s.names = names;
    s.sync.watching = !nothingAsked;
    const current = snap?.version ?? '';
    // Envoy with no watch left on RDS or EDS (its last route configuration or EDS cluster gone)
    // asks for no name, and takes an answer to that without ACKing it: nothing is answered.
    if (nothingAsked && snap !== undefined && !snap.wildcard) return;
    // Send when the proxy lacks the current version (and did not refuse it, and asks for
    // something), or asks for other names.
    const refused = s.sync.nack !== null && s.sync.nack.version === current && s.sync.sentVersion === current;
    if (changed) this.push(type, { answering: true, partial: false });
    else if (s.sync.sentVersion !== current && !refused && !nothingAsked) this.push(type, { answering: true, partial: true });
  }

  protected pushChange(type: string): void {
    this.push(type, { answering: false, partial: true });
  }

  /**
   * `answering`: the answer to a request (sent even when it holds nothing); else a change, not
   * pushed to a proxy that asks for no resource of the type. `partial`: RDS and EDS may send only
   * what differs from what this stream was sent.
   */
  protected push(type: string, how: { answering: boolean; partial: boolean }): void {
    const s = this.types.get(type)!;
    // A change of a type the proxy asks for no resource of tells it nothing (and would never be ACKed).
    if (!how.answering && s.names !== null && s.names.size === 0) return;
    const snap = this.snapshot(type);
    const resources: Array<{ type_url: string; value: Uint8Array }> = [];
    // RDS and EDS (named, never wildcard): after a change only what differs from what was sent.
    const partial = how.partial && s.names !== null && snap !== undefined && !snap.wildcard && s.sentNonce !== null;
    if (snap) {
      if (s.names === null) {
        if (snap.wildcard) for (const r of snap.resources.values()) resources.push(r.body);
      } else {
        if (!partial) s.sent.clear();
        for (const n of s.names) {
          const r = snap.resources.get(n);
          if (!r || (partial && s.sent.get(n) === r.version)) continue;
          resources.push(r.body);
          if (!snap.wildcard) s.sent.set(n, r.version);
        }
      }
    }
    // Nothing the proxy asked for changed: nothing to say.
    if (partial && resources.length === 0) return;
    // SDS: Envoy refuses a response without its secret; it waits until the secret exists.
    if (resources.length === 0 && this.server.opts.service === 'secret') return;
    const version = snap?.version ?? '';
    const nonce = newNonce();
    this.send(type, { version_info: version, resources, type_url: type, nonce }, version, nonce, resources.length);
  }
}

/** Incremental: responses carry what changed since what the proxy holds, and what went away. */
class DeltaStream extends AdsStream {
  get protocol(): 'delta' {
    return 'delta';
  }

  protected handle(req: Plain, type: string): void {
    const fresh = !this.types.has(type);
    const s = this.state(type);
    const nonce = String(req.response_nonce ?? '');
    const said = this.nonceState(nonce, fresh, s, type);
    if (said === 'stale') return;
    if (said === 'current') {
      if (req.error_detail) {
        this.nack(type, nonce, req.error_detail as Plain);
        for (const [name, version] of s.inFlight ?? []) if (version !== null) s.refused.set(name, version);
        s.inFlight = null;
      } else {
        for (const [name, version] of s.inFlight ?? []) {
          if (version === null) s.known.delete(name);
          else s.known.set(name, version);
        }
        s.inFlight = null;
        this.ack(type, this.snapshot(type)?.version ?? '', nonce);
      }
    }
    const subscribe = (req.resource_names_subscribe as string[] | undefined) ?? [];
    const unsubscribe = (req.resource_names_unsubscribe as string[] | undefined) ?? [];
    if (fresh) {
      // The first request: an empty subscription or "*" asks for everything (wildcard).
      s.wildcard = subscribe.length === 0 || subscribe.includes('*');
      s.names = new Set(subscribe.filter((n) => n !== '*'));
      for (const [name, version] of Object.entries((req.initial_resource_versions as Record<string, string> | undefined) ?? {})) s.known.set(name, version);
    } else {
      for (const n of subscribe) {
        if (n === '*') s.wildcard = true;
        else s.names!.add(n);
      }
      for (const n of unsubscribe) {
        if (n === '*') s.wildcard = false;
        else {
          s.names!.delete(n);
          s.known.delete(n);
          s.refused.delete(n);
        }
      }
    }
    s.sync.watching = s.wildcard || s.names!.size > 0;
    // A change that waited for this answer goes now (not one the proxy just refused), and so
    // does a subscription that arrived while the answered response was in flight: nothing else
    // would answer it when the snapshot has not changed meanwhile.
    const snap = this.snapshot(type);
    const current = snap?.version ?? '';
    const behind = said === 'current' && !req.error_detail && s.sync.sentVersion !== current;
    // Names just subscribed that do not exist: said in removed_resources.
    const missing = subscribe.filter((n) => n !== '*' && !(snap?.resources.has(n) ?? false));
    const pending = said === 'current' ? s.pending : null;
    if (said === 'current') s.pending = null;
    if (pending !== null) missing.push(...pending);
    if (fresh || subscribe.length > 0 || behind || pending !== null) this.push(type, missing);
  }

  protected pushChange(type: string): void {
    this.push(type);
  }

  protected push(type: string, missing: readonly string[] = []): void {
    const s = this.types.get(type)!;
    if (s.inFlight !== null) {
      // One response in flight per type: what changes meanwhile follows its ACK (or NACK).
      s.pending = new Set([...(s.pending ?? []), ...missing]);
      return;
    }
    const snap = this.snapshot(type);
    const want = (name: string): boolean => (s.wildcard && (snap?.wildcard ?? false)) || s.names!.has(name);
    const resources: Plain[] = [];
    const removed: string[] = [];
    const inFlight = new Map<string, string | null>();
    /** Clusters the proxy held at another version: each warms anew and waits for its endpoints. */
    const updated: string[] = [];
    if (snap) {
      for (const r of snap.resources.values()) {
        const refused = s.refused.get(r.name);
        if (!want(r.name) || refused === r.version) continue;
        // A resource back at the version the proxy ACKed after it refused another is sent again:
        // the proxy cannot tell that the refused version is no longer current (wasmesh's client
        // keeps refused pieces as the control plane's view until another version comes).
        const known = s.known.get(r.name);
        if (known === r.version && refused === undefined && !s.resend.has(r.name)) continue;
        // Another version goes: the refusal was of the one before (a revert may send it again).
        s.refused.delete(r.name);
        s.resend.delete(r.name);
        if (known !== undefined && type === TYPE_URL.cluster) updated.push(r.name);
        resources.push({ name: r.name, version: r.version, resource: r.body });
        inFlight.set(r.name, r.version);
      }
    }
    for (const name of s.known.keys()) {
      if (!snap?.resources.has(name) || !want(name)) {
        removed.push(name);
        inFlight.set(name, null);
      }
    }
    for (const name of missing) {
      if (inFlight.has(name) || (snap?.resources.has(name) ?? false)) continue;
      removed.push(name);
      inFlight.set(name, null);
    }
    const version = snap?.version ?? '';
    // Nothing to say to a proxy that is up to date, except the answer to its first request.
    if (resources.length === 0 && removed.length === 0 && s.sentNonce !== null) return;
    const nonce = newNonce();
    s.inFlight = inFlight;
    this.send(type, { system_version_info: version, resources, type_url: type, removed_resources: removed, nonce }, version, nonce, resources.length);
    if (updated.length > 0) this.#resendEndpoints(updated);
  }

  /**
   * Envoy replaces a cluster whose config changed with a new one that warms until a
   * ClusterLoadAssignment for it arrives, and holds back its CDS ACK meanwhile; it does not ask
   * again for endpoints it already holds, so unchanged endpoints would never come (the cluster
   * warms until its initial_fetch_timeout, 15 s). As istiod does, the endpoints of each updated
   * cluster (its EDS service name is the cluster's, host/envoy/xds-resources.ts) follow the CDS
   * response on the stream, whether they changed or not.
   */
  #resendEndpoints(clusters: readonly string[]): void {
    const eds = this.types.get(TYPE_URL.endpoint);
    if (eds === undefined) return;
    const snap = this.snapshot(TYPE_URL.endpoint);
    for (const name of clusters) if ((eds.names!.has(name) || eds.known.has(name)) && snap?.resources.has(name)) eds.resend.add(name);
    if (eds.resend.size > 0) this.push(TYPE_URL.endpoint);
  }
}

function sameNames(a: Set<string> | null, b: Set<string> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

export class AdsServer {
  readonly opts: AdsServerOptions;
  readonly #server = new Server({ 'grpc.max_concurrent_streams': 4096 } as never);
  /** Every connected proxy's sync record (a proxy may hold more than one stream). */
  readonly #proxies = new Map<string, { sync: ProxySync; streams: number }>();
  /** @internal open streams, ended by close(). */
  readonly streams = new Set<AdsStream>();
  /** @internal the bound on response bytes being written at once. */
  readonly throttle: WriteThrottle;
  #port = 0;

  constructor(opts: AdsServerOptions) {
    this.opts = opts;
    this.throttle = new WriteThrottle(opts.maxWriteBytes ?? MAX_WRITE_BYTES);
    this.attach(this.#server);
  }

  /**
   * Serves ADS on another gRPC server too (the CA's TLS port, 15012, as istiod serves xDS there),
   * before that server binds. With `authenticate`, a stream whose metadata it refuses (it throws
   * with the reason) ends at once with UNAUTHENTICATED and the reason, before any resource is sent;
   * one whose node claims another namespace or service account than the caller's ends with
   * PERMISSION_DENIED. A 'secret' server (SDS) serves StreamSecrets and FetchSecrets instead.
   */
  attach(server: Server, authenticate?: (metadata: Metadata, auth: ReturnType<Stream['getAuthContext']>) => StreamCaller | Promise<StreamCaller>): void {
    const guarded = (open: (call: Stream, caller: StreamCaller | null) => void) => (call: Stream): void => {
      if (!authenticate) {
        open(call, null);
        return;
      }
      // The caller may take a round trip (a Kubernetes token goes to the API server): the stream's
      // requests wait in its buffer until it is opened.
      Promise.resolve()
        .then(() => authenticate(call.metadata, call.getAuthContext()))
        .then(
          (caller) => {
            if (!call.destroyed) open(call, caller);
          },
          (err) => {
            call.emit('error', { code: GrpcStatus.UNAUTHENTICATED, details: `xDS refused: ${err instanceof Error ? err.message : String(err)}` });
          },
        );
    };
    const which = this.opts.service ?? 'aggregated';
    server.addService(adsService(envoyProtos(), which), which === 'secret'
      ? {
        StreamSecrets: guarded((call, caller) => void new SotwStream(this, call, caller)),
        FetchSecrets: (call: ServerUnaryCall<Plain, Plain>, done: sendUnaryData<Plain>) => this.#fetch(call.request, done),
      }
      : {
        StreamAggregatedResources: guarded((call, caller) => void new SotwStream(this, call, caller)),
        DeltaAggregatedResources: guarded((call, caller) => void new DeltaStream(this, call, caller)),
      });
  }

  get port(): number {
    return this.#port;
  }

  /**
   * One request answered once (FetchSecrets): the names asked for that exist, at the snapshot's
   * version. Unlike a stream it cannot wait for a secret: none of them existing is NOT_FOUND.
   */
  #fetch(req: Plain, done: sendUnaryData<Plain>): void {
    const refuse = (code: GrpcStatus, details: string): void => {
      this.opts.events?.rejected?.(null, details);
      done({ code, details });
    };
    const undecodable = (req as Record<symbol, unknown>)[UNDECODABLE];
    if (typeof undecodable === 'string') return refuse(GrpcStatus.INVALID_ARGUMENT, undecodable);
    if (!this.opts.fetch) return refuse(GrpcStatus.UNIMPLEMENTED, 'fetch is not served');
    let node: XdsNode;
    try {
      node = readNode(req.node);
    } catch (err) {
      return refuse(GrpcStatus.INVALID_ARGUMENT, (err as Error).message);
    }
    const type = String(req.type_url ?? '');
    if (type === '' || !this.opts.servesType(node, type)) return refuse(GrpcStatus.INVALID_ARGUMENT, `unknown or unserved type_url ${JSON.stringify(type)}`);
    const snap = this.opts.fetch(node, type);
    const asked = (req.resource_names as string[] | undefined) ?? [];
    const found = snap === undefined ? [] : asked.length > 0 ? asked.flatMap((n) => snap.resources.get(n) ?? []) : snap.wildcard ? [...snap.resources.values()] : [];
    if (found.length === 0) return refuse(GrpcStatus.NOT_FOUND, `none of ${JSON.stringify(asked)} exists (yet)`);
    done(null, { version_info: snap!.version, resources: found.map((r) => r.body), type_url: type, nonce: newNonce() });
  }

  /** Listens for plaintext gRPC (Istio's 15010) at host:port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const at = formatHostPort(host, port);
      this.#server.bindAsync(at, ServerCredentials.createInsecure(), (err, bound) => {
        if (err) {
          reject(new Error(`wasmesh: cannot listen for xDS on ${at}: ${err.message} (LISTEN_FAILED)`));
          return;
        }
        this.#port = bound;
        resolve(bound);
      });
    });
  }

  /**
   * Listens for plaintext gRPC on a Unix domain socket (SDS for a local Envoy, as Istio's agent).
   * The socket file must not exist (the caller removes a stale one).
   */
  listenUnix(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (err) => {
        if (err) reject(new Error(`wasmesh: cannot listen on the Unix socket ${path}: ${err.message} (LISTEN_FAILED)`));
        else resolve();
      });
    });
  }

  /** Connected proxies with their per-type sync state. */
  proxies(): ProxySync[] {
    return [...this.#proxies.values()].map((p) => p.sync);
  }

  /** @internal a stream identified its proxy. */
  register(node: XdsNode, protocol: 'sotw' | 'delta'): ProxySync {
    let p = this.#proxies.get(node.id);
    if (!p) this.#proxies.set(node.id, (p = { sync: { proxyId: node.id, kind: node.kind, protocol, connectedAt: Date.now(), types: new Map(), metadata: node.metadata }, streams: 0 }));
    p.streams++;
    return p.sync;
  }

  /** @internal a stream of this proxy ended. */
  unregister(node: XdsNode, sync: ProxySync): void {
    const p = this.#proxies.get(node.id);
    if (!p || p.sync !== sync) return;
    if (--p.streams > 0) return;
    this.#proxies.delete(node.id);
    this.opts.disconnect(node);
    this.opts.events?.disconnected?.(node);
  }

  close(): Promise<void> {
    // Streams never end by themselves: each is ended here (the proxy sees the stream close and
    // reconnects elsewhere or later), so the graceful shutdown has nothing to wait for.
    for (const s of [...this.streams]) s.end();
    return new Promise((resolve) => {
      this.#server.tryShutdown(() => resolve());
      // A client that keeps its half open (grpc-js-xds's, after a GOAWAY) would hold the
      // shutdown forever: after a grace the connections are cut, and that is the end, whether
      // or not the graceful callback ever comes.
      setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 1000).unref();
    });
  }
}
