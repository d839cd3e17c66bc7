// Side-by-side A/B of two wasmesh builds under the same grpc-js load at the same time: this
// checkout's proxy and another built checkout's (`--base <dir>`, e.g. main exported and built in a
// temporary directory), both started as bench:protocols starts wasmesh, both routing to one grpc-js
// echo server; each round runs the same closed-loop load (2 channels × 32 calls) into both proxies
// concurrently and prints each proxy's CPU ms per 1000 calls (/proc) and their ratio. Both see the
// same machine at the same moment, so on a shared machine the ratio moves far less than two
// sequential runs' CPU per call (which follows the call rate).
// Usage: node dist/bench/protocols/grpc-ab.js --base <dir> [--calls N (10000)] [--rounds R (4)]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { protocolMeshYaml } from './mesh-yaml.js';
import { startProxy, type RunningProxy } from './proxies.js';
import { GRPC_ECHO_SERVICE } from './servers.js';

function arg(name: string, fallback: string | null): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) {
    if (fallback === null) throw new Error(`--${name} is required`);
    return fallback;
  }
  return v;
}

const cpuSeconds = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const EchoClient = grpc.makeGenericClientConstructor(GRPC_ECHO_SERVICE, 'Echo');

/** `n` unary calls to `port`, 32 in flight over 2 channels; the call rate. */
async function calls(port: number, n: number): Promise<number> {
  const clients = Array.from({ length: 2 }, () => new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': 'grpc-echo.bench.internal', 'grpc.use_local_subchannel_pool': 1,
  }));
  let left = n;
  const msg = Buffer.alloc(64, 'g');
  const t0 = performance.now();
  const loop = async (c: InstanceType<typeof EchoClient>): Promise<void> => {
    while (left-- > 0) {
      await new Promise<void>((res, rej) => c.Say(msg, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null) => (e ? rej(e) : res())));
    }
  };
  try {
    await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => loop(c))));
  } finally {
    for (const c of clients) c.close();
  }
  return n / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const baseDir = arg('base', null);
  const n = Number(arg('calls', '10000'));
  const rounds = Number(arg('rounds', '4'));
  const baseProxies = (await import(join(baseDir, 'dist', 'bench', 'protocols', 'proxies.js'))) as { startProxy: typeof startProxy };
  const server = spawn(process.execPath, [fileURLToPath(new URL('./servers.js', import.meta.url)), 'grpc'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-ab-'));
  const running: RunningProxy[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /WASMESH_PROTO_SERVER (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', (code) => reject(new Error(`grpc server exited (${code})`)));
    });
    for (const [name, text] of Object.entries(protocolMeshYaml({ h2: 1, grpc: port, ws: 1, tcp: 1 }))) writeFileSync(join(dir, name), text);
    const base = await baseProxies.startProxy('wasmesh', dir);
    running.push(base);
    const mine = await startProxy('wasmesh', dir);
    running.push(mine);
    await Promise.all([calls(base.httpPort, 3000), calls(mine.httpPort, 3000)]); // warm-up
    for (let r = 1; r <= rounds; r++) {
      const b0 = cpuSeconds(base.pid);
      const m0 = cpuSeconds(mine.pid);
      const [rb, rm] = await Promise.all([calls(base.httpPort, n), calls(mine.httpPort, n)]);
      const b = ((cpuSeconds(base.pid) - b0) * 1e6) / n;
      const m = ((cpuSeconds(mine.pid) - m0) * 1e6) / n;
      process.stdout.write(`round ${r}: base ${b.toFixed(1)} ms/1000 calls (${rb.toFixed(0)} calls/s), this ${m.toFixed(1)} ms/1000 calls (${rm.toFixed(0)} calls/s), ratio ${(m / b).toFixed(3)}\n`);
    }
  } finally {
    for (const p of running) await p.stop();
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`grpc-ab: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
