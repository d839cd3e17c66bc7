// The client side of the stack comparison (bench/tls/stack.ts), in its own process. Modes:
//   handshake <port> <ms> <concurrency> <resume 0|1>: new TLS 1.3 connections, closed once
//     secure, as many as it can for <ms>; with resume, each offers the first connection's
//     session ticket. Prints {handshakes, resumed}.
//   idle <port> <n>: opens n TLS connections and keeps them; reports {open} over IPC, then
//     holds them until told to exit.
import { connect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [mode, portText, a, b, c] = process.argv.slice(2) as [string, string, string, string?, string?];
const certDir = process.env.TLS_BENCH_CERTS!;
const ca = readFileSync(join(certDir, 'root.crt'));
const port = Number(portText);

function open(session?: Buffer): TLSSocket {
  return connect({ host: '127.0.0.1', port, servername: 'localhost', ca, minVersion: 'TLSv1.3', session });
}

if (mode === 'handshake') {
  const ms = Number(a);
  const concurrency = Number(b);
  const resume = c === '1';
  let session: Buffer | undefined;
  let handshakes = 0;
  let resumed = 0;
  let failed = 0;
  let waited = false;
  const until = performance.now() + ms;
  const loop = (): void => {
    if (performance.now() >= until) return done();
    const s = open(resume ? session : undefined);
    s.once('session', (t: Buffer) => {
      session ??= t;
    });
    s.once('secureConnect', () => {
      handshakes++;
      if (s.isSessionReused()) resumed++;
      // Resuming needs one ticket first: the first connection waits for it.
      if (resume && session === undefined && !waited) {
        waited = true;
        const next = (): void => {
          clearTimeout(t);
          s.destroy();
          loop();
        };
        // A server that sends no ticket: go on without one after 1 s (resumed stays 0).
        const t = setTimeout(next, 1000);
        s.once('session', next);
      }
      else {
        s.destroy();
        loop();
      }
    });
    s.once('error', () => {
      failed++;
      loop();
    });
  };
  let running = concurrency;
  const done = (): void => {
    if (--running === 0) {
      process.stdout.write(JSON.stringify({ handshakes, resumed, failed }) + '\n');
      process.exit(0);
    }
  };
  for (let i = 0; i < concurrency; i++) loop();
} else if (mode === 'idle') {
  const n = Number(a);
  const sockets: TLSSocket[] = [];
  let secure = 0;
  let started = 0;
  const BATCH = 50;
  const more = (): void => {
    while (started < n && started - secure < BATCH) {
      started++;
      const s = open();
      s.on('error', () => {});
      s.once('secureConnect', () => {
        secure++;
        if (secure === n) process.send!({ open: sockets.filter((x) => !x.destroyed).length });
        else more();
      });
      sockets.push(s);
    }
  };
  more();
  process.on('message', (m: string) => {
    if (m === 'count') process.send!({ open: sockets.filter((x) => !x.destroyed).length });
    if (m === 'exit') process.exit(0);
  });
} else {
  throw new Error(`stack-client: unknown mode ${mode}`);
}
