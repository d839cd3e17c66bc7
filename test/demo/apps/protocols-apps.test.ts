// The apps of `wasmesh demo protocols`, directly (no proxy): the gRPC greeter (unary, a stream of
// `count`, a bad count refused INVALID_ARGUMENT, a busy port named), the WebSocket chat app
// (greeting, text and binary echo, a close code answered, 404 off /chat), and the real Redis
// (PING through redis-server, a busy port named; it fails, not skips, when required and missing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import WebSocket from 'ws';
import { GreeterApp, MAX_GREETINGS } from '../../../host/demo/apps/greeter-app.js';
import { CHAT_PATH, ChatApp } from '../../../host/demo/apps/chat-app.js';
import { findOnPath, RedisApp } from '../../../host/demo/apps/redis-app.js';
import { ListenError } from '../../../host/common/listen-error.js';
import { ROOT } from '../../helpers/wasmesh-process.js';
import { run } from '../../helpers/tcp-servers-for-tests.js';

const PROTO = join(ROOT, 'examples', '005-protocols', 'greeter.proto');

/** A port held open on 127.0.0.1 for the test. */
async function held(): Promise<{ port: number; close(): Promise<void> }> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as { port: number }).port, close: () => new Promise((r) => s.close(() => r())) };
}

describe('GreeterApp', () => {
  const app = new GreeterApp({ protoFile: PROTO, version: 'v7', port: 0, name: 'greeter-v7 app' });
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  beforeAll(async () => {
    await app.listen();
    const { demo } = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, defaults: true })) as unknown as { demo: { Greeter: new (t: string, c: grpc.ChannelCredentials) => typeof client } };
    client = new demo.Greeter(`127.0.0.1:${app.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await app.close();
  });

  it('SayHello names the version; an empty name is "world"', async () => {
    const say = (name: string) => new Promise<string>((resolve, reject) => client.SayHello({ name }, (e: grpc.ServiceError | null, r: { message: string }) => (e ? reject(e) : resolve(r.message))));
    expect(await say('bob')).toBe('Hello bob from greeter v7');
    expect(await say('')).toBe('Hello world from greeter v7');
  });

  it('SayHellos streams `count` greetings; a count out of 1..MAX_GREETINGS is INVALID_ARGUMENT', async () => {
    const stream = (count: number) => new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const call = client.SayHellos({ name: 'ann', count }) as grpc.ClientReadableStream<{ message: string }>;
      call.on('data', (r) => got.push(r.message));
      call.on('error', reject);
      call.on('end', () => resolve(got));
    });
    expect(await stream(2)).toEqual(['Hello ann from greeter v7 (1/2)', 'Hello ann from greeter v7 (2/2)']);
    for (const count of [0, MAX_GREETINGS + 1]) {
      const err = await stream(count).then(() => null, (e: grpc.ServiceError) => e);
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toBe(`count must be 1..${MAX_GREETINGS}, got ${count}`);
    }
  });

  it('a busy port is a ListenError naming the app', async () => {
    const busy = await held();
    try {
      const other = new GreeterApp({ protoFile: PROTO, version: 'v1', port: busy.port, name: 'greeter-v1 app' });
      const err = await other.listen().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as ListenError).message).toBe(`greeter-v1 app port ${busy.port} on 127.0.0.1 is already in use`);
    } finally {
      await busy.close();
    }
  });
});

describe('ChatApp', () => {
  const app = new ChatApp({ version: 'v3', port: 0, name: 'chat-v3 app' });
  beforeAll(() => app.listen());
  afterAll(() => app.close());

  it('greets first, echoes text (naming itself) and binary (as sent), and answers a close with its code', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}${CHAT_PATH}`);
    const got: Array<string | Buffer> = [];
    ws.on('message', (d, binary) => got.push(binary ? (d as Buffer) : d.toString()));
    await new Promise((r) => ws.once('open', r));
    ws.send('hi');
    ws.send(Buffer.from([0, 1, 2, 255]));
    while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['welcome to chat v3', 'chat v3 echoes: hi', Buffer.from([0, 1, 2, 255])]);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.close(4001, 'bye');
    expect(await closed).toBe(4001);
    expect(app.sessions).toBeGreaterThanOrEqual(1);
  });

  it('any other path is a plain 404', async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`chat v3: WebSocket only, on ${CHAT_PATH}\n`);
  });
});

describe('findOnPath', () => {
  it('finds an executable in a PATH folder, not a plain file, and null when none has it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-path-'));
    try {
      writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
      writeFileSync(join(dir, 'plain'), '');
      chmodSync(join(dir, 'tool'), 0o755);
      expect(findOnPath('tool', `/nonexistent:${dir}`)).toBe(join(dir, 'tool'));
      expect(findOnPath('plain', dir)).toBeNull();
      expect(findOnPath('tool', '')).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const redisServer = findOnPath('redis-server');
const redisCli = findOnPath('redis-cli');
const required = process.env.WASMESH_REQUIRE_TCPSERVERS === '1';
describe.skipIf((redisServer === null || redisCli === null) && !required)('RedisApp (Debian\'s redis-server)', () => {
  it('runs redis-server on a free port (redis-cli PING answers), and close() stops it', async () => {
    expect(redisServer, 'WASMESH_REQUIRE_TCPSERVERS=1 but redis-server is not on PATH').not.toBeNull();
    expect(redisCli, 'WASMESH_REQUIRE_TCPSERVERS=1 but redis-cli is not on PATH').not.toBeNull();
    const app = new RedisApp({ bin: redisServer!, port: 0, name: 'redis app' });
    await app.listen();
    try {
      expect(app.port).toBeGreaterThan(0);
      expect(await run(redisCli!, ['-p', String(app.port), 'ping'])).toBe('PONG\n');
    } finally {
      await app.close();
    }
    await expect(run(redisCli!, ['-p', String(app.port), 'ping'])).rejects.toThrow();
  });

  it('a busy port is a ListenError naming the app', async () => {
    const busy = await held();
    try {
      const err = await new RedisApp({ bin: redisServer!, port: busy.port, name: 'redis app' }).listen().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as ListenError).message).toBe(`redis app port ${busy.port} on 127.0.0.1 is already in use`);
    } finally {
      await busy.close();
    }
  });
});
