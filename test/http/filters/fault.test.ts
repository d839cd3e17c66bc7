// The fault filter on its own (host/http/filters/fault.ts), on a fake stream and a fake clock:
// no filter at all for a route whose fault can never fire, a new filter per stream (it holds the
// delay's timer), a delay that pauses the chain and resumes it, an abort answered with Envoy's
// body and flag, both in order, and a timer dropped when the stream ends first. The draws are the
// core's (FaultDice over a real core); test/core/fault checks them against the proxy-wasm filter.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { faultFilter, FAULT_ABORT_BODY } from '../../../host/http/filters/fault.js';
import { FilterStatus } from '../../../host/http/filter.js';
import { Core } from '../../../host/core/wasm.js';
import { FaultDice } from '../../../host/core/fault/fault.js';
import { Stats } from '../../../host/telemetry/stats.js';
import type { FaultPolicy } from '../../../host/model/mesh.js';
import { fakeStream } from '../../helpers/fake-stream.js';

const core = new Core();

function factoryFor(policy: FaultPolicy | null) {
  const stats = new Stats().downstream;
  return { stats, factory: faultFilter(policy, new FaultDice(core, 7), stats) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the fault filter', () => {
  it('is absent from a route without a fault, or whose fault can never fire', () => {
    expect(factoryFor(null).factory).toBeNull();
    expect(factoryFor({ delay: { fixedDelayMs: 50, percentage: 0 }, abort: { httpStatus: 503, percentage: 0 } }).factory).toBeNull();
    // A delay of 0 ms delays nothing.
    expect(factoryFor({ delay: { fixedDelayMs: 0, percentage: 100 }, abort: null }).factory).toBeNull();
  });

  it('makes a filter per stream: it keeps the delay timer of its own stream', () => {
    const { factory } = factoryFor({ delay: { fixedDelayMs: 50, percentage: 100 }, abort: null });
    expect(factory!.shared).toBeNull();
    expect(factory!.create()).not.toBe(factory!.create());
  });

  it('a delay pauses the chain, flags DI and resumes it once the delay is over', () => {
    vi.useFakeTimers();
    const { factory, stats } = factoryFor({ delay: { fixedDelayMs: 50, percentage: 100 }, abort: null });
    const stream = fakeStream();
    expect(factory!.create().onRequestHeaders!(stream)).toBe(FilterStatus.StopIteration);
    expect(stream.flags).toEqual(['DI']);
    expect(stats.get('fault.delays_injected')).toBe(1);
    vi.advanceTimersByTime(49);
    expect(stream.resumed).toBe(0);
    vi.advanceTimersByTime(1);
    expect(stream.resumed).toBe(1);
    expect(stream.replies).toEqual([]);
  });

  it('an abort is answered at once with the route\'s status, Envoy\'s body and flag FI', () => {
    const { factory, stats } = factoryFor({ delay: null, abort: { httpStatus: 418, percentage: 100 } });
    const stream = fakeStream();
    expect(factory!.create().onRequestHeaders!(stream)).toBe(FilterStatus.StopIteration);
    expect(stream.replies).toEqual([{ status: "418 I'm a Teapot", headers: [], body: FAULT_ABORT_BODY, flag: 'FI' }]);
    expect(stats.get('fault.aborts_injected')).toBe(1);
  });

  it('delay then abort: the abort comes after the delay, never resuming the chain', () => {
    vi.useFakeTimers();
    const { factory } = factoryFor({ delay: { fixedDelayMs: 20, percentage: 100 }, abort: { httpStatus: 503, percentage: 100 } });
    const stream = fakeStream();
    expect(factory!.create().onRequestHeaders!(stream)).toBe(FilterStatus.StopIteration);
    expect(stream.replies).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(stream.replies.map((r) => [r.status, r.flag])).toEqual([['503 Service Unavailable', 'FI']]);
    expect(stream.flags).toEqual(['DI', 'FI']);
    expect(stream.resumed).toBe(0);
  });

  it('a stream that ends during the delay drops the timer (onDestroy): nothing resumes later', () => {
    vi.useFakeTimers();
    const { factory } = factoryFor({ delay: { fixedDelayMs: 50, percentage: 100 }, abort: null });
    const stream = fakeStream();
    const filter = factory!.create();
    filter.onRequestHeaders!(stream);
    filter.onDestroy!(stream);
    vi.advanceTimersByTime(1_000);
    expect(stream.resumed).toBe(0);
  });
});
