// The same h2c server on node:http2 (nghttp2 in C++ under Node's JS stream objects): every
// request answered with :status 200, content-type text/plain, content-length 2 and "ok".
import http2 from 'node:http2';

export interface NodeH2cServer {
  server: http2.Http2Server;
  requests(): number;
}

export async function startNodeH2cServer(port = 0): Promise<NodeH2cServer> {
  let answered = 0;
  const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 2 });
    stream.end('ok');
    answered++;
  });
  server.on('sessionError', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, requests: () => answered };
}
