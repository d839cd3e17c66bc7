// h2load as a gRPC unary load (bench/protocols/h2load.ts, the grpc-h2load mode): framed echo
// calls against the benchmark's real grpc-js server are counted as done, and calls the server
// answers with a gRPC error (HTTP 200 with grpc-status in a trailers-only response, which h2load
// counts as succeeded) are counted as errors by the missing response messages. Without h2load
// the suite skips with the reason, unless WASMESH_REQUIRE_LOADGEN=1.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findH2load, runH2load } from '../../../bench/protocols/h2load.js';
import { GRPC_ECHO_PATH } from '../../../bench/protocols/servers.js';
import { ensureBuilt, ROOT } from '../../helpers/wasmesh-process.js';
import { h2loadMissingForTests } from '../../helpers/load-tools-for-tests.js';


const MESSAGE = Buffer.concat([Buffer.from([0, 0, 0, 0, 64]), Buffer.alloc(64, 'g')]);
const HEADERS = ['content-type: application/grpc', 'te: trailers'];

describe.skipIf(h2loadMissingForTests('h2load gRPC') !== null)('h2load gRPC unary load', () => {
  let server: ChildProcess;
  let port = 0;
  beforeAll(async () => {
    await ensureBuilt();
    server = spawn(process.execPath, [join(ROOT, 'dist', 'bench', 'protocols', 'servers.js'), 'grpc'], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /WASMESH_PROTO_SERVER (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', (code) => reject(new Error(`grpc server exited (${code}): ${out}`)));
    });
  }, 120_000);
  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('echo calls are done with no errors; calls answered with a gRPC error are errors', async () => {
    const h2load = findH2load()!;
    const base = { clients: 2, streams: 4, durationS: 1, warmupS: 0.2, body: MESSAGE, headers: HEADERS, dataBytesPerResponse: MESSAGE.length };
    const good = await runH2load(h2load, { ...base, url: `http://127.0.0.1:${port}${GRPC_ECHO_PATH}` });
    expect(good.ops).toBeGreaterThan(0);
    expect(good.errors, good.firstError).toBe(0);
    // An unknown method: HTTP 200, grpc-status 12 (UNIMPLEMENTED), no message.
    const bad = await runH2load(h2load, { ...base, url: `http://127.0.0.1:${port}/bench.Echo/Nope` });
    expect(bad.ops).toBe(0);
    expect(bad.errors).toBeGreaterThan(0);
    expect(bad.firstError).toContain('answered without the response message');
  }, 60_000);
});
