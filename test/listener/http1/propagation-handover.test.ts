// The HTTP/1 listener's hand-over of the trace context fields (host/common/propagation-bytes.ts)
// over a real loopback socket: when asked (the version traces), B3, b3, traceparent and
// tracestate go to Downstream.propagation as bytes, repeats included, and are not among the
// request's fields (x-client-trace-id and every other field stay); when not asked, the fields
// are all there as received and there is no hand-over.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { Core } from '../../../host/core/wasm.js';
import { Http1Listener } from '../../../host/listener/http1/http1-listener.js';
import { Stats } from '../../../host/telemetry/stats.js';
import type { Downstream } from '../../../host/listener/downstream.js';
import { P_SPAN_ID, P_TRACEPARENT, P_TRACE_ID, P_TRACESTATE } from '../../../host/common/propagation-bytes.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const HEAD = 'GET / HTTP/1.1\r\nHost: svc\r\nX-B3-TraceId: 463AC35C9F6413AD48485A3953BB6124\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-client-trace-id: c1\r\n' +
  'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nx-b3-spanid: 0000000000000001\r\ntracestate: k=v\r\nx-app: 1\r\n\r\n';

/** A listener that answers each request 200 after `seen` got what it holds (the fields, the hand-over's strings). */
async function requestThrough(takes: boolean): Promise<{ fields: string[]; handed: Array<string | null> | null; restored: string[] }> {
  const core = new Core();
  let got: { fields: string[]; handed: Array<string | null> | null; restored: string[] } | null = null;
  const listener = new Http1Listener('127.0.0.1', 0, core, new Stats().downstream, (ds: Downstream) => {
    const p = ds.propagation ?? null;
    const restored: string[] = [];
    p?.restore((n, v) => restored.push(n, v));
    got = { fields: [...ds.headers], handed: p === null ? null : [P_TRACE_ID, P_SPAN_ID, P_TRACEPARENT, P_TRACESTATE].map((s) => p.string(s)), restored };
    ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
    ds.reply('200 OK', [], 'ok');
  });
  listener.takesPropagation = () => takes;
  await listener.listen();
  cleanups.push(() => listener.stopAccepting());
  const socket = net.connect(listener.port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => { if (d.toString('latin1').includes('\r\n\r\nok')) resolve(); });
    socket.on('error', reject);
    socket.write(HEAD);
  });
  return got!;
}

describe('the HTTP/1 listener\'s hand-over of the trace context fields', () => {
  it('asked: the fields go over as bytes (first values readable, repeats kept for a restore), not among the request\'s fields', async () => {
    const r = await requestThrough(true);
    expect(r.fields).toEqual(['host', 'svc', 'x-client-trace-id', 'c1', 'x-app', '1']);
    expect(r.handed).toEqual(['463AC35C9F6413AD48485A3953BB6124', 'a2fb4a1d1a96d312', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'k=v']);
    expect(r.restored).toEqual(['x-b3-traceid', '463AC35C9F6413AD48485A3953BB6124', 'x-b3-spanid', 'a2fb4a1d1a96d312', 'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'tracestate', 'k=v', 'x-b3-spanid', '0000000000000001']);
  });

  it('not asked (a version without tracing): every field as received, no hand-over', async () => {
    const r = await requestThrough(false);
    expect(r.handed).toBeNull();
    expect(r.fields).toEqual(['host', 'svc', 'x-b3-traceid', '463AC35C9F6413AD48485A3953BB6124', 'x-b3-spanid', 'a2fb4a1d1a96d312', 'x-client-trace-id', 'c1',
      'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-b3-spanid', '0000000000000001', 'tracestate', 'k=v', 'x-app', '1']);
  });
});
