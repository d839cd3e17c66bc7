// watchEndStream against a real node:http2 server on loopback: END_STREAM on DATA, on trailing
// HEADERS and on the response HEADERS is seen as such; a RST_STREAM NO_ERROR and a lost
// connection, which end node's readable side just the same, are not. It pins the node:http2
// behaviour the watch relies on (the end pushed before or after the stream is marked closed).
import { describe, it, expect, afterEach } from 'vitest';
import { connect, createServer, type ClientHttp2Session, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { watchEndStream } from '../../../../host/upstream/conn-pool/http2/h2-end-stream.js';

let server: Http2Server | null = null;
let client: ClientHttp2Session | null = null;

afterEach(async () => {
  client?.destroy();
  client = null;
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

/** One request to a server answering with `answer`; what the watch saw once the stream closed, and the body. */
async function seen(answer: (s: ServerHttp2Stream) => void): Promise<{ endStream: boolean | null; body: string; ended: boolean }> {
  server = createServer();
  server.on('session', (s) => s.on('error', () => {}));
  server.on('stream', (s) => {
    s.on('error', () => {});
    answer(s);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('error', () => {});
  const req = client.request({ ':path': '/' });
  const watch = watchEndStream(req);
  let body = '';
  let ended = false;
  req.on('error', () => {});
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => (ended = true));
  await new Promise<void>((r) => req.on('close', () => r()));
  return { endStream: watch.endStream, body, ended };
}

describe('watchEndStream', () => {
  it('sees END_STREAM on the last DATA frame', async () => {
    expect(await seen((s) => (s.respond({ ':status': 200 }), s.end('whole')))).toEqual({ endStream: true, body: 'whole', ended: true });
  });

  it('sees END_STREAM on trailing HEADERS', async () => {
    const r = await seen((s) => {
      s.respond({ ':status': 200 }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      s.end('m');
    });
    expect(r).toEqual({ endStream: true, body: 'm', ended: true });
  });

  it('sees END_STREAM on the response HEADERS', async () => {
    expect(await seen((s) => s.respond({ ':status': 204 }, { endStream: true }))).toEqual({ endStream: true, body: '', ended: true });
  });

  it('tells a RST_STREAM NO_ERROR after the head apart from END_STREAM, though the readable side ends', async () => {
    const r = await seen((s) => {
      s.respond({ ':status': 200 });
      s.write('part', () => setTimeout(() => s.destroy(), 20));
    });
    expect(r).toEqual({ endStream: false, body: 'part', ended: true });
  });

  it('tells a connection lost after the head apart from END_STREAM', async () => {
    const r = await seen((s) => {
      s.respond({ ':status': 200 });
      s.write('part', () => setTimeout(() => s.session!.destroy(), 20));
    });
    expect(r.endStream).toBe(false);
    expect(r.body).toBe('part');
  });
});
