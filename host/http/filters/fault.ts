// Fault injection for a route with Istio's HTTPFaultInjection, as Envoy's fault filter applies
// it: a delay for `percentage` of requests (the request waits, then goes on; not counted in the
// route timeout), then an abort for `percentage` of requests (answered by the proxy with the
// route's status and Envoy's body), drawn independently, delay first. The draws are the core's
// (assembly/fault), the same code the proxy-wasm fault filter runs in stock Envoy.
import type { FaultPolicy } from '../../model/mesh.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import { FAULT_ABORT, FAULT_DELAY, percentPerMillion, type FaultDice } from '../../core/fault/fault.js';
import { FilterStatus, type HttpFilter, type HttpFilterFactory } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { ResponseFlag } from '../response-flags.js';
import { statusLine } from '../local-reply.js';

/** Envoy's local reply body for a fault abort. */
export const FAULT_ABORT_BODY = 'fault filter abort';

/** One route's fault, as numbers the core's draw takes. */
interface RouteFault {
  readonly delayMs: number;
  readonly delayPerMillion: number;
  readonly abortStatus: number;
  readonly abortPerMillion: number;
  readonly abortLine: string;
}

class FaultFilter implements HttpFilter {
  readonly #fault: RouteFault;
  readonly #dice: FaultDice;
  readonly #stats: StatScope<DownstreamStat>;
  #timer: NodeJS.Timeout | null = null;

  constructor(fault: RouteFault, dice: FaultDice, stats: StatScope<DownstreamStat>) {
    this.#fault = fault;
    this.#dice = dice;
    this.#stats = stats;
  }

  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    const f = this.#fault;
    const faults = this.#dice.decide(f.delayPerMillion, f.abortPerMillion);
    const abort = (faults & FAULT_ABORT) !== 0;
    if ((faults & FAULT_DELAY) !== 0) {
      stream.setFlag(ResponseFlag.DelayInjected);
      this.#stats.inc('fault.delays_injected');
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (abort) this.#abort(stream);
        else stream.continueDecoding();
      }, f.delayMs);
      return FilterStatus.StopIteration;
    }
    if (abort) {
      this.#abort(stream);
      return FilterStatus.StopIteration;
    }
    return FilterStatus.Continue;
  }

  #abort(stream: StreamCallbacks): void {
    this.#stats.inc('fault.aborts_injected');
    stream.sendLocalReply(this.#fault.abortLine, [], FAULT_ABORT_BODY, ResponseFlag.FaultInjected);
  }

  onDestroy(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** The fault filter of a route, or null when the route injects nothing. */
export function faultFilter(policy: FaultPolicy | null | undefined, dice: FaultDice, stats: StatScope<DownstreamStat>): HttpFilterFactory | null {
  if (!policy) return null;
  const delayMs = policy.delay?.fixedDelayMs ?? 0;
  const fault: RouteFault = {
    delayMs,
    delayPerMillion: policy.delay && delayMs > 0 ? percentPerMillion(policy.delay.percentage) : 0,
    abortStatus: policy.abort?.httpStatus ?? 0,
    abortPerMillion: policy.abort ? percentPerMillion(policy.abort.percentage) : 0,
    abortLine: policy.abort ? statusLine(policy.abort.httpStatus) : '',
  };
  if (fault.delayPerMillion === 0 && fault.abortPerMillion === 0) return null;
  return { shared: null, create: () => new FaultFilter(fault, dice, stats) };
}
