// The `wasmesh_fault` filter: Istio's HTTPFaultInjection as Envoy's fault filter applies it,
// per route: a delay (the request is paused and resumed from the root context's tick) for
// `percentage` of requests, then an abort (a local response with the route's status and
// Envoy's body "fault filter abort") for `percentage` of requests, drawn independently, delay
// first. It runs after `wasmesh_router` and reads the route it chose from x-wasmesh-route.
import { Action, LogLevel, MapType, Status, StreamType } from '../abi/abi-types';
import { RootContext, HttpContext, registerFilter } from '../abi/context';
import { ContextTable } from '../abi/context-table';
import { getHeaderMapValue, valueBlock, valueBlockSize } from '../abi/header-map';
import { continueStream, sendLocalResponse, setEffectiveContext } from '../abi/stream';
import { currentTimeNanoseconds, setTickPeriodMilliseconds } from '../abi/timer';
import { LogLine } from '../abi/log';
import {
  routeRecord, R_DELAY_MS, R_DELAY_PER_MILLION, R_ABORT_STATUS, R_ABORT_PER_MILLION, C_ROUTE_COUNT,
  C_FAULT_SEED,
} from '../config/plugin-config';
import { readConfiguration } from '../config/read-configuration';
import { Metric, count, defineMetrics, flushMetrics, METRICS_FLUSH_MS } from '../metrics/filter-metrics';
import { ascii, parseDecimal } from '../common/ascii';
import { decideFault, FAULT_DELAY, FAULT_ABORT } from '../../assembly/fault/fault';
import {
  LIST_SIZE, listInit, listAdd, listDue, listFind, listStream, listAbortStatus, listEarliest, listRemove,
  listRelease, listCount,
} from './pending-delays';

export const FAULT_ROOT_ID = 'wasmesh_fault';

const HEADER_ROUTE = ascii('x-wasmesh-route');
/** Envoy's fault filter answers aborts with this body and these details (flag FI). */
const ABORT_BODY = ascii('fault filter abort');
const ABORT_DETAILS = ascii('fault_filter_abort');
const UNCONFIGURED_DETAILS = ascii('wasmesh_fault_unconfigured');

// One root context's state, a struct in linear memory (root contexts are renewed on every
// configuration change: no managed object, so nothing accumulates):
//   +0 configuration block   +4 xorshift32 state   +8 pending delays (LIST_SIZE bytes)
const S_CONFIG: usize = 0;
const S_RNG: usize = 4;
const S_PENDING: usize = 8;
const STATE_SIZE: usize = S_PENDING + LIST_SIZE;

/** Root context id → its state struct. */
const states = new ContextTable();
/** Delayed stream id → its root context id (to drop the delay if the client goes away). */
const streamRoot = new ContextTable();

@inline function pendingOf(s: usize): usize {
  return s + S_PENDING;
}

/** Arms the root context's tick for its earliest deadline, or for the metrics flush when nothing waits. */
function arm(s: usize, nowNs: u64): void {
  if (listCount(pendingOf(s)) == 0) {
    setTickPeriodMilliseconds(METRICS_FLUSH_MS);
    return;
  }
  const earliest = listEarliest(pendingOf(s));
  const waitNs = earliest > nowNs ? earliest - nowNs : 0;
  // Round up so the tick never fires before the deadline; at least 1 ms (0 would stop it), at
  // most the metrics flush period.
  const ms = (waitNs + 999999) / 1000000;
  setTickPeriodMilliseconds(ms == 0 ? 1 : ms > <u64>METRICS_FLUSH_MS ? METRICS_FLUSH_MS : <u32>ms);
}

class FaultRoot extends RootContext {
  onConfigure(rootId: u32, size: usize): bool {
    defineMetrics();
    const block = readConfiguration(FAULT_ROOT_ID, size, false);
    if (block == 0) return false;
    let seed = load<u32>(block + C_FAULT_SEED);
    if (seed == 0) seed = <u32>currentTimeNanoseconds() | 1;
    let s = <usize>states.get(rootId, 0);
    if (s != 0) {
      heap.free(<usize>load<u32>(s + S_CONFIG));
    } else {
      s = heap.alloc(STATE_SIZE);
      listInit(pendingOf(s));
      states.set(rootId, <u32>s);
    }
    store<u32>(s + S_CONFIG, <u32>block);
    store<u32>(s + S_RNG, seed);
    setTickPeriodMilliseconds(METRICS_FLUSH_MS);
    return true;
  }

  onTick(rootId: u32): void {
    flushMetrics();
    const s = <usize>states.get(rootId, 0);
    if (s == 0) return;
    const p = pendingOf(s);
    const now = currentTimeNanoseconds();
    // One due request at a time, removed before it is resumed: resuming may re-enter this
    // module (another filter, a stream deletion), so no index is held across the call.
    for (let i = listDue(p, now); i >= 0; i = listDue(p, now)) {
      const stream = listStream(p, i);
      const abort = listAbortStatus(p, i);
      listRemove(p, i);
      streamRoot.delete(stream);
      if (setEffectiveContext(stream) != Status.Ok) continue; // the stream ended meanwhile
      if (abort != 0) {
        count(Metric.FaultAborts);
        sendLocalResponse(abort, ABORT_DETAILS.ptr, ABORT_DETAILS.len, ABORT_BODY.ptr, ABORT_BODY.len);
      } else {
        continueStream(StreamType.HttpRequest);
      }
    }
    arm(s, now);
  }

  onDelete(rootId: u32): void {
    const s = <usize>states.get(rootId, 0);
    if (s == 0) return;
    listRelease(pendingOf(s));
    heap.free(<usize>load<u32>(s + S_CONFIG));
    heap.free(s);
    states.delete(rootId);
  }
}

class FaultStream extends HttpContext {
  onRequestHeaders(streamId: u32, rootId: u32, headerCount: u32, endOfStream: bool): Action {
    const s = <usize>states.get(rootId, 0);
    if (s == 0) {
      sendLocalResponse(500, UNCONFIGURED_DETAILS.ptr, UNCONFIGURED_DETAILS.len, 0, 0);
      return Action.Pause;
    }
    if (getHeaderMapValue(MapType.HttpRequestHeaders, HEADER_ROUTE.ptr, HEADER_ROUTE.len) != Status.Ok) {
      // No route header: the router answered locally (no route) or is not in the chain.
      return Action.Continue;
    }
    const v = valueBlock();
    const route = parseDecimal(v, valueBlockSize());
    if (v != 0) heap.free(v);
    const c = <usize>load<u32>(s + S_CONFIG);
    if (route < 0 || route >= <i64>load<u32>(c + C_ROUTE_COUNT)) {
      LogLine.start();
      LogLine.text('wasmesh_fault: x-wasmesh-route is not a route of this configuration; no fault applied (is wasmesh_router before wasmesh_fault, with the same configuration?)');
      LogLine.emit(LogLevel.Warn);
      return Action.Continue;
    }
    const r = routeRecord(c, <u32>route);
    const delayPm = load<u32>(r + R_DELAY_PER_MILLION);
    const abortPm = load<u32>(r + R_ABORT_PER_MILLION);
    if (delayPm == 0 && abortPm == 0) return Action.Continue;
    const delayMs = load<u32>(r + R_DELAY_MS);
    // The same decision as the native host's (assembly/fault): delay drawn first, then abort.
    const faults = decideFault(s + S_RNG, delayMs > 0 ? delayPm : 0, abortPm);
    const delay = (faults & FAULT_DELAY) != 0;
    const abort = (faults & FAULT_ABORT) != 0;
    const status = abort ? load<u32>(r + R_ABORT_STATUS) : 0;
    if (delay) {
      count(Metric.FaultDelays);
      const now = currentTimeNanoseconds();
      listAdd(pendingOf(s), streamId, status, now + <u64>delayMs * 1000000);
      streamRoot.set(streamId, rootId);
      arm(s, now);
      return Action.Pause;
    }
    if (abort) {
      count(Metric.FaultAborts);
      sendLocalResponse(status, ABORT_DETAILS.ptr, ABORT_DETAILS.len, ABORT_BODY.ptr, ABORT_BODY.len);
      return Action.Pause;
    }
    return Action.Continue;
  }

  onDelete(streamId: u32, rootId: u32): void {
    // A delayed request whose client went away: forget it (its tick finds nothing to resume).
    if (!streamRoot.delete(streamId)) return;
    const s = <usize>states.get(rootId, 0);
    if (s == 0) return;
    const i = listFind(pendingOf(s), streamId);
    if (i >= 0) listRemove(pendingOf(s), i);
  }
}

registerFilter(FAULT_ROOT_ID, new FaultRoot(), new FaultStream());
