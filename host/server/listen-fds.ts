// Listening sockets for worker threads. Node 20's net has no SO_REUSEPORT, so worker threads
// cannot each bind the port; instead every thread accepts on the one listening socket the main
// thread bound, each through its own file descriptor (a closed or crashed worker closes only
// its own). Node cannot dup a descriptor, but a descriptor sent over IPC (SCM_RIGHTS) arrives
// as a new one: a short-lived child process sends the listening handle back as often as asked.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { compiledEntry, packageRoot } from '../core/wasm.js';
import type { TcpHandle } from '../listener/listener.js';


/** Received handles are kept for the life of the process: closing one would close its descriptor. */
const kept: TcpHandle[] = [];

/** `count` new descriptors for the listening socket behind `handle` (Linux; one child process). */
export async function duplicateListenFds(handle: TcpHandle, count: number): Promise<number[]> {
  if (count <= 0) return [];
  const script = compiledEntry(new URL('./fd-echo-child.js', import.meta.url), 'host/server/fd-echo-child.js');
  if (script === null) throw new Error(`wasmesh: ${join(packageRoot(), 'dist/host/server/fd-echo-child.js')} is missing; run \`npm run build\` first (WORKER_SCRIPT_MISSING)`);
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  const fds: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        if (fds.length < count) reject(new Error(`wasmesh: the descriptor helper exited (${code}) after ${fds.length} of ${count} listening descriptors (LISTEN_FD_DUP_FAILED)`));
      });
      child.on('message', (_m, h) => {
        const got = h as unknown as TcpHandle | undefined;
        if (!got || typeof got.fd !== 'number' || got.fd < 0) {
          reject(new Error('wasmesh: the descriptor helper sent back no listening descriptor (LISTEN_FD_DUP_FAILED)'));
          return;
        }
        kept.push(got);
        fds.push(got.fd);
        if (fds.length === count) resolve();
      });
      for (let i = 0; i < count; i++) child.send(i, handle as never);
    });
  } finally {
    child.kill();
  }
  return fds;
}
