// The production downstream HTTP/2 listeners on their own (no router, no upstream), for the
// h2load comparison in run.ts: `listener-core` (listener/http2-core/, the core codec) and
// `listener-node` (listener/http2/, node:http2), each taking the connections of a plain net
// server as the HTTP/1.1 listener hands them over, every stream answered through the Downstream
// seam with the prototypes' response (:status 200, content-type text/plain, content-length 2, "ok").
// Measures what the listener costs per request, which bench:protocols cannot separate from the
// rest of the proxy.
import net from 'node:net';
import { Core } from '../../host/core/wasm.js';
import { Stats } from '../../host/telemetry/stats.js';
import { CoreHttp2Listener } from '../../host/listener/http2-core/core-http2-listener.js';
import { Http2Listener } from '../../host/listener/http2/http2-listener.js';
import type { Downstream } from '../../host/listener/downstream.js';
import type { Http2ConnectionListener } from '../../host/listener/http2-listener-kind.js';

const NO_HANDLER = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };
const HEADERS: ReadonlyArray<readonly [string, string]> = [['content-type', 'text/plain']];

export async function startListenerH2cServer(kind: 'core' | 'node', port = 0): Promise<{ server: net.Server; requests(): number }> {
  let answered = 0;
  const onRequest = (ds: Downstream): void => {
    ds.attach(NO_HANDLER, false);
    ds.reply('200', HEADERS, 'ok');
    answered++;
  };
  const stats = new Stats().downstream;
  // No server header: the same response as the prototypes'.
  const listener: Http2ConnectionListener = kind === 'core' ? new CoreHttp2Listener(new Core(), stats, onRequest, {}, null) : new Http2Listener(stats, onRequest, {}, null);
  const server = net.createServer((socket) => {
    const reader = listener.take(socket, socket.remoteAddress ?? '', null);
    if (reader !== null) socket.on('data', (d: Buffer) => reader.onRead(d));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, requests: () => answered };
}
