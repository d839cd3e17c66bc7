// A second upstream for the interop scenarios that must see more than one answer: it fails
// each request's first attempt (503 while x-envoy-attempt-count is 1 or absent) so a data
// plane's retries show in the status the client gets, and it records the Host of mirrored
// copies (`…-shadow`) so a later request can read what reached the shadow. Stateless for
// retries (the attempt count travels with the request), so concurrent requests cannot mix.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Paths under which it answers: /flaky… fails first attempts; /shadow-reset and /shadow-log manage the mirror record. */
export const RECORDER_PATHS = { flaky: '/flaky', reset: '/shadow-reset', log: '/shadow-log' } as const;

/** Starts the server on a free loopback port; it does not keep the process alive. */
export async function startRecordingUpstream(): Promise<number> {
  const shadowHosts: string[] = [];
  let waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    req.resume();
    const url = req.url ?? '/';
    const host = req.headers.host ?? '';
    const reply = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain', 'x-seen-headers': JSON.stringify(req.headers) });
      res.end(body);
    };
    if (host.endsWith('-shadow')) {
      shadowHosts.push(host);
      for (const w of waiters) w();
      waiters = [];
    }
    if (url.startsWith(RECORDER_PATHS.flaky)) {
      const attempt = Number(req.headers['x-envoy-attempt-count'] ?? '1');
      if (attempt <= 1) reply(503, 'first attempt fails');
      else reply(200, `attempt ${attempt}`);
    } else if (url.startsWith(RECORDER_PATHS.reset)) {
      shadowHosts.length = 0;
      reply(200, 'reset');
    } else if (url.startsWith(RECORDER_PATHS.log)) {
      // A mirror is fire-and-forget: give a late copy up to 2 s to arrive before answering.
      const answer = (): void => reply(200, [...new Set(shadowHosts)].sort().join(','));
      if (shadowHosts.length > 0) answer();
      else {
        const timer = setTimeout(answer, 2000);
        waiters.push(() => { clearTimeout(timer); answer(); });
      }
    } else {
      reply(200, 'served');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return (server.address() as AddressInfo).port;
}
