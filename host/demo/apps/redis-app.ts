// The Redis of `wasmesh demo protocols`: Debian's real `redis-server` (package redis-server;
// scripts/install-tcpservers.sh) run as a child of the demo on loopback, throwaway — no
// persistence, its working folder in the run folder's temp space, stopped with the demo. Never a
// stand-in: when redis-server is not on PATH, findRedisServer() says so and the demo runs without
// Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ListenError } from '../../common/listen-error.js';
import { freePort } from '../../common/free-port.js';

/** An executable named `name` in a folder of PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter((d) => d !== '')) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

export interface RedisAppOptions {
  /** The redis-server binary (findOnPath('redis-server')). */
  bin: string;
  host?: string;
  /** 0 picks a free one (redis-server itself reads port 0 as "no TCP port"). */
  port: number;
  /** Names the port in errors (`redis`). */
  name: string;
  /** How long to wait for "Ready to accept connections" (default 20 s). */
  readyMs?: number;
}

export class RedisApp {
  readonly name: string;
  readonly host: string;
  readonly #opts: RedisAppOptions;
  #port: number;
  #child: ChildProcess | null = null;
  #dir: string | null = null;
  #out = '';

  constructor(options: RedisAppOptions) {
    this.#opts = options;
    this.name = options.name;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port;
  }

  get port(): number {
    return this.#port;
  }

  /** What redis-server wrote (for failure messages). */
  get output(): string {
    return this.#out;
  }

  /** Starts redis-server and waits until it accepts connections; a busy port is a ListenError. */
  async listen(): Promise<void> {
    if (this.#port === 0) this.#port = await freePort(this.host);
    this.#dir = mkdtempSync(join(tmpdir(), 'wasmesh-demo-redis-'));
    const args = ['--port', String(this.#port), '--bind', this.host, '--save', '', '--appendonly', 'no', '--dir', this.#dir, '--daemonize', 'no', '--protected-mode', 'yes'];
    const child = spawn(this.#opts.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.#out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (/Ready to accept connections/.test(this.#out)) done(null);
        }, 25);
        const giveUp = setTimeout(() => done(new Error(`${this.name}: redis-server not ready after ${this.#opts.readyMs ?? 20_000} ms:\n${this.#out}`)), this.#opts.readyMs ?? 20_000);
        const onExit = (): void => {
          if (/Address already in use/.test(this.#out)) done(new ListenError('port_in_use', `${this.name} port ${this.#port} on ${this.host} is already in use`, this.#port, this.name));
          else done(new Error(`${this.name}: redis-server exited before it was ready:\n${this.#out}`));
        };
        const onError = (err: Error): void => done(new Error(`${this.name}: cannot run ${this.#opts.bin}: ${err.message}`));
        child.once('exit', onExit);
        child.once('error', onError);
        function done(err: Error | null): void {
          clearInterval(timer);
          clearTimeout(giveUp);
          child.off('exit', onExit);
          child.off('error', onError);
          if (err === null) resolve();
          else reject(err);
        }
      });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** SIGTERM (SIGKILL after 5 s), waits for the exit, removes its folder. */
  async close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    if (this.#dir !== null) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}
