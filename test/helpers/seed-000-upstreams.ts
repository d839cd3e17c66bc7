// The tiny upstream servers behind every interop scenario: the seed 000 demo app's two
// versions (`Version: v0.1` / `Version: v0.2`), which also report the request headers they
// received (x-seen-headers, JSON) and can answer late (/delay/<ms>) for timeout scenarios.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamPorts {
  v1: number;
  v2: number;
}

export interface Upstreams {
  ports: UpstreamPorts;
  close(): Promise<void>;
}

function versionServer(version: 'v1' | 'v2'): Server {
  const body = version === 'v1' ? 'Version: v0.1' : 'Version: v0.2';
  return createServer((req, res) => {
    const delay = /^\/delay\/(\d+)/.exec(req.url ?? '');
    const answer = (): void => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'x-upstream': version,
        // An upstream header scenarios can ask the proxy to remove from responses.
        'x-upstream-internal': 'secret',
        'x-seen-headers': JSON.stringify(req.headers),
      });
      res.end(body);
    };
    req.resume();
    if (delay) {
      const timer = setTimeout(answer, Number(delay[1]));
      res.on('close', () => clearTimeout(timer));
    } else {
      answer();
    }
  });
}

export async function startUpstreams(): Promise<Upstreams> {
  const servers = [versionServer('v1'), versionServer('v2')];
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const [v1, v2] = servers.map((s) => (s.address() as AddressInfo).port);
  return {
    ports: { v1, v2 },
    close: async () => {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
