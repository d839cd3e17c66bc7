// The protocol benchmark's upstreams, one child process per kind so each has its own event loop
// and neither proxy's figure depends on another server's load: `h2` (node:http2 h2c, every
// request answered 200 "ok"), `http` (node:http, HTTP/1.1, the same answer), `grpc` (a @grpc/grpc-js server with one unary method that echoes
// its bytes), `ws` (a `ws` server echoing every message) and `tcp` (a TCP echo with half-close).
// Prints `WASMESH_PROTO_SERVER <port>` once listening; stops on SIGTERM.
import { createServer as createHttpServer } from 'node:http';
import http2 from 'node:http2';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { WebSocketServer } from 'ws';

export type ServerKind = 'h2' | 'http' | 'grpc' | 'ws' | 'tcp';
export const SERVER_KINDS: readonly ServerKind[] = ['h2', 'http', 'grpc', 'ws', 'tcp'];

/** The gRPC method the benchmark calls: bytes in, the same bytes out. */
export const GRPC_ECHO_PATH = '/bench.Echo/Say';
/** The grpc-h2load request body: one gRPC message (uncompressed, 64 B), framed (§ Length-Prefixed-Message). */
export const GRPC_MESSAGE: Buffer = Buffer.concat([Buffer.from([0, 0, 0, 0, 64]), Buffer.alloc(64, 'g')]);
const raw = (b: Buffer): Buffer => b;
export const GRPC_ECHO_SERVICE: grpc.ServiceDefinition = {
  Say: { path: GRPC_ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
};

async function start(kind: ServerKind): Promise<number> {
  switch (kind) {
    case 'h2': {
      const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
      server.on('stream', (stream) => {
        // When h2load stops, the proxies reset the streams still in flight: a stream reset
        // before it is answered must not take the process down (node throws on respond() to a
        // destroyed stream, and an unhandled stream 'error' kills it: every later request
        // through either proxy would be a 503).
        stream.on('error', () => {});
        if (stream.destroyed || stream.closed) return;
        stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 2 });
        stream.end('ok');
      });
      server.on('sessionError', () => {});
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.address() as { port: number }).port;
    }
    case 'http': {
      // HTTP/1.1 keep-alive: every request answered 200 "ok" (the mtls-http mode's upstream).
      const server = createHttpServer({ keepAliveTimeout: 60_000 }, (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
        res.end('ok');
      });
      server.on('clientError', (_err, socket) => socket.destroy());
      await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
      return (server.address() as { port: number }).port;
    }
    case 'grpc': {
      const server = new grpc.Server();
      server.addService(GRPC_ECHO_SERVICE, { Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
      return new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
    }
    case 'ws': {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      wss.on('connection', (s) => s.on('message', (m, binary) => s.send(m, { binary })));
      await new Promise<void>((r) => wss.once('listening', () => r()));
      return (wss.address() as { port: number }).port;
    }
    case 'tcp': {
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
        s.pipe(s);
        s.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
      return (server.address() as { port: number }).port;
    }
  }
}

const kind = process.argv[2] as ServerKind;
if (process.argv[1]?.endsWith('servers.js')) {
  if (!SERVER_KINDS.includes(kind)) {
    console.error(`usage: servers.js ${SERVER_KINDS.join('|')} (got ${kind ?? 'nothing'})`);
    process.exit(2);
  }
  const port = await start(kind);
  console.log(`WASMESH_PROTO_SERVER ${port}`);
  process.on('SIGTERM', () => process.exit(0));
}
