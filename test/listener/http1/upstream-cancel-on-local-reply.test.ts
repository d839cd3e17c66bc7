// A local reply to a request whose head already went upstream (a malformed body answered 400, a
// stream idle timeout answered 408) cancels the upstream exchange: the half-sent request's
// connection is closed, never left open holding a cluster's connection slot.
import { it, expect, afterEach } from 'vitest';
import { startRig, exchange, waitFor, type Rig } from './wire-harness.js';

let rig: Rig | null = null;
afterEach(async () => { await rig?.close(); rig = null; });
const H = 'Host: svc.test\r\n';

it('a malformed chunked body after the head went upstream: 400, and the upstream connection is closed (cluster not exhausted)', async () => {
  rig = await startRig({ limits: { maxConnectionsPerCluster: 2, maxPendingPerCluster: 0 } });
  for (let i = 0; i < 3; i++) {
    const ex = await exchange(rig.proxy.port, [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`, { pause: 50 }, 'zz\r\n'], 1, { quietMs: 2000 });
    expect(ex.responses.map((r) => [r.status, r.body])).toEqual([[400, 'invalid_chunk_size']]);
  }
  await waitFor(() => rig!.upstream.connections.every((k) => k.closed), 2000, 'partial upstream connections closed');
  expect((await exchange(rig.proxy.port, [`GET /after HTTP/1.1\r\n${H}\r\n`], 1)).responses.map((r) => r.status)).toEqual([200]);
});

it('a stream idle timeout (408) mid-upload closes the upstream connection', async () => {
  rig = await startRig({ limits: { streamIdleTimeoutMs: 500 } });
  const ex = await exchange(rig.proxy.port, [`POST /u HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`, { pause: 1500 }], 1, { quietMs: 2000 });
  expect(ex.responses.map((r) => r.status)).toEqual([408]);
  await waitFor(() => rig!.upstream.connections.every((k) => k.closed), 2000, 'upstream connection closed');
});
