// Root and HTTP contexts (spec: "Context lifecycle"): the callbacks a filter overrides, with
// no-op defaults, and the registry that routes each callback to the filter its root context
// runs (an HTTP filter's streams, or a network filter's connections: network-context.ts). A filter is registered once under an Envoy `root_id`; its handlers are singletons and
// keep per-context state in linear memory, so no object is allocated per stream.
import { Action, LogLevel, Status } from './abi-types';
import { ContextTable } from './context-table';
import { getProperty, propertyData, propertySize } from './properties';
import { LogLine } from './log';
import { NetworkContext } from './network-context';

/** Root-context callbacks (one root context per plugin and worker). Defaults do nothing. */
export class RootContext {
  /** proxy_on_vm_start: the VM started; `vmConfigSize` bytes of VM_CONFIGURATION are readable. */
  onVmStart(rootId: u32, vmConfigSize: usize): bool {
    return true;
  }

  /** proxy_on_configure: PLUGIN_CONFIGURATION (`size` bytes) is readable; false fails the plugin. */
  onConfigure(rootId: u32, size: usize): bool {
    return true;
  }

  /** proxy_on_tick: the tick period set by this root context elapsed. */
  onTick(rootId: u32): void {}

  /** proxy_on_delete of the root context: release everything it holds. */
  onDelete(rootId: u32): void {}
}

/** HTTP stream callbacks; `rootId` is the root context the stream was created under. */
export class HttpContext {
  /** proxy_on_request_headers. */
  onRequestHeaders(streamId: u32, rootId: u32, headerCount: u32, endOfStream: bool): Action {
    return Action.Continue;
  }

  /** proxy_on_response_headers. */
  onResponseHeaders(streamId: u32, rootId: u32, headerCount: u32, endOfStream: bool): Action {
    return Action.Continue;
  }

  /** proxy_on_log: the stream is complete (Envoy's access-log point; response properties are final). */
  onLog(streamId: u32, rootId: u32): void {}

  /** proxy_on_delete of a stream context: the stream is gone (also when it was paused). */
  onDelete(streamId: u32, rootId: u32): void {}
}

/** A filter: what a root_id selects (an HTTP filter's contexts are streams, a network filter's connections). */
class FilterKind {
  constructor(public rootIdName: string, public root: RootContext, public http: HttpContext, public network: NetworkContext) {}
}

const NO_HTTP = new HttpContext();
const NO_NETWORK = new NetworkContext();

/** Stands for "no registered filter": callbacks of an unknown root_id do nothing but fail configure. */
const NO_KIND: u32 = 0xffffffff;

// Registered at start-up by the filters' modules (static data, not per request).
const kinds: FilterKind[] = [];
/** Root context id → index in `kinds` (NO_KIND for an unknown root_id). */
const roots = new ContextTable();
/** Stream context id → its root context id. */
const streams = new ContextTable();

/** Registers a filter under Envoy's `root_id` (call at module start-up). */
export function registerFilter(rootIdName: string, root: RootContext, http: HttpContext): void {
  kinds.push(new FilterKind(rootIdName, root, http, NO_NETWORK));
}

/** Registers a network (envoy.filters.network.wasm) filter under Envoy's `root_id`. */
export function registerNetworkFilter(rootIdName: string, root: RootContext, network: NetworkContext): void {
  kinds.push(new FilterKind(rootIdName, root, NO_HTTP, network));
}

// The property path of the plugin's root_id (one segment: no separator needed).
const ROOT_ID_PATH = memory.data<u8>([0x70, 0x6c, 0x75, 0x67, 0x69, 0x6e, 0x5f, 0x72, 0x6f, 0x6f, 0x74, 0x5f, 0x69, 0x64]); // "plugin_root_id"
const ROOT_ID_PATH_LEN: usize = 14;

/** Does the ASCII string `s` equal the `n` bytes at `p`? */
function asciiEquals(s: string, p: usize, n: usize): bool {
  if (<usize>s.length != n) return false;
  for (let i: usize = 0; i < n; i++) {
    if (<u32>s.charCodeAt(<i32>i) != <u32>load<u8>(p + i)) return false;
  }
  return true;
}

/** Finds the filter for a new root context by its `plugin_root_id`. */
function kindOfNewRoot(): u32 {
  if (getProperty(ROOT_ID_PATH, ROOT_ID_PATH_LEN) != Status.Ok) return NO_KIND;
  const p = propertyData();
  const n = propertySize();
  let found = NO_KIND;
  for (let i = 0; i < kinds.length; i++) {
    if (asciiEquals(kinds[i].rootIdName, p, n)) {
      found = <u32>i;
      break;
    }
  }
  if (found == NO_KIND) {
    LogLine.start();
    LogLine.text('wasmesh filters: unknown root_id "');
    LogLine.bytes(p, n);
    LogLine.text('" (known: ');
    for (let i = 0; i < kinds.length; i++) {
      if (i > 0) LogLine.text(', ');
      LogLine.text(kinds[i].rootIdName);
    }
    LogLine.text('); the plugin will fail to configure');
    LogLine.emit(LogLevel.Error);
  }
  if (p != 0) heap.free(p);
  return found;
}

/** proxy_on_context_create: records a root context's filter, or a stream's root context. */
export function contextCreate(contextId: u32, parentId: u32): void {
  if (parentId == 0) roots.set(contextId, kindOfNewRoot());
  else streams.set(contextId, parentId);
}

/** The filter of root context `rootId`, or null. */
function kindOf(rootId: u32): FilterKind | null {
  const k = roots.get(rootId, NO_KIND);
  return k == NO_KIND ? null : kinds[<i32>k];
}

export function vmStart(rootId: u32, size: usize): bool {
  const kind = kindOf(rootId);
  return kind === null ? true : kind.root.onVmStart(rootId, size);
}

export function configure(rootId: u32, size: usize): bool {
  const kind = kindOf(rootId);
  // Fail closed: a root context without a filter must not let requests through unfiltered.
  return kind === null ? false : kind.root.onConfigure(rootId, size);
}

export function tick(rootId: u32): void {
  const kind = kindOf(rootId);
  if (kind !== null) kind.root.onTick(rootId);
}

export function requestHeaders(streamId: u32, headerCount: u32, endOfStream: bool): Action {
  const rootId = streams.get(streamId, 0);
  const kind = kindOf(rootId);
  return kind === null ? Action.Continue : kind.http.onRequestHeaders(streamId, rootId, headerCount, endOfStream);
}

export function responseHeaders(streamId: u32, headerCount: u32, endOfStream: bool): Action {
  const rootId = streams.get(streamId, 0);
  const kind = kindOf(rootId);
  return kind === null ? Action.Continue : kind.http.onResponseHeaders(streamId, rootId, headerCount, endOfStream);
}

export function logStream(streamId: u32): void {
  const rootId = streams.get(streamId, 0);
  const kind = kindOf(rootId);
  if (kind === null) return;
  // One callback for both kinds of context: each filter kind has one of them for real.
  kind.http.onLog(streamId, rootId);
  kind.network.onLog(streamId, rootId);
}

export function newConnection(connId: u32): Action {
  const rootId = streams.get(connId, 0);
  const kind = kindOf(rootId);
  return kind === null ? Action.Continue : kind.network.onNewConnection(connId, rootId);
}

export function connectionData(connId: u32, upstream: bool, size: usize, endOfStream: bool): Action {
  const rootId = streams.get(connId, 0);
  const kind = kindOf(rootId);
  if (kind === null) return Action.Continue;
  return upstream ? kind.network.onUpstreamData(connId, rootId, size, endOfStream) : kind.network.onDownstreamData(connId, rootId, size, endOfStream);
}

export function connectionClose(connId: u32, upstream: bool, peerType: u32): void {
  const rootId = streams.get(connId, 0);
  const kind = kindOf(rootId);
  if (kind !== null) kind.network.onClose(connId, rootId, upstream, peerType);
}

/** proxy_on_delete for either kind of context. */
export function deleteContext(contextId: u32): void {
  const rootId = streams.get(contextId, 0);
  if (rootId != 0) {
    streams.delete(contextId);
    const kind = kindOf(rootId);
    if (kind !== null) {
      kind.http.onDelete(contextId, rootId);
      kind.network.onDelete(contextId, rootId);
    }
    return;
  }
  const kind = kindOf(contextId);
  if (kind !== null) kind.root.onDelete(contextId);
  roots.delete(contextId);
}

/** Live stream contexts (tests and leak checks). */
export function liveStreams(): u32 {
  return streams.size;
}
