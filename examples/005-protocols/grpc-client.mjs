#!/usr/bin/env node
// A gRPC client for `wasmesh demo protocols` (grpcurl is not in Debian): calls the greeter of
// greeter.proto with @grpc/grpc-js, over h2c to the address given — the demo's gateway.
//   node grpc-client.mjs <host:port> hello <name> [--repeat N]   unary SayHello, N times (default 1)
//   node grpc-client.mjs <host:port> stream <name> <count>       server-streaming SayHellos
// Prints each reply's message on its own line; a failed call prints its gRPC status and exits 1.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const USAGE = 'usage: node grpc-client.mjs <host:port> hello <name> [--repeat N] | <host:port> stream <name> <count>';
const fail = (message) => {
  process.stderr.write(`grpc-client: ${message}\n`);
  process.exit(2);
};

const [target, kind, name, ...rest] = process.argv.slice(2);
if (target === undefined || !/^[^:]+:\d+$/.test(target)) fail(`"${target ?? ''}" is not <host:port>\n${USAGE}`);
if (name === undefined) fail(USAGE);
let repeat = 1;
let count = 0;
if (kind === 'hello') {
  if (rest.length === 2 && rest[0] === '--repeat') repeat = Number(rest[1]);
  else if (rest.length !== 0) fail(USAGE);
  if (!Number.isInteger(repeat) || repeat < 1) fail(`--repeat "${rest[1]}" must be a positive whole number`);
} else if (kind === 'stream') {
  if (rest.length !== 1) fail(USAGE);
  count = Number(rest[0]);
  if (!Number.isInteger(count) || count < 1) fail(`count "${rest[0]}" must be a positive whole number`);
} else {
  fail(`unknown call "${kind ?? ''}" (hello or stream)\n${USAGE}`);
}

const proto = join(dirname(fileURLToPath(import.meta.url)), 'greeter.proto');
const definition = protoLoader.loadSync(proto, { keepCase: true, defaults: true });
const { demo } = grpc.loadPackageDefinition(definition);
const client = new demo.Greeter(target, grpc.credentials.createInsecure());
const deadline = () => Date.now() + 10_000;
const failed = (err) => {
  process.stderr.write(`grpc-client: ${grpc.status[err.code] ?? err.code} (${err.code}): ${err.details}\n`);
  client.close();
  process.exit(1);
};

if (kind === 'hello') {
  for (let i = 0; i < repeat; i++) {
    const reply = await new Promise((resolve) => client.SayHello({ name }, { deadline: deadline() }, (err, r) => (err ? failed(err) : resolve(r))));
    process.stdout.write(`${reply.message}\n`);
  }
} else {
  await new Promise((resolve) => {
    const call = client.SayHellos({ name, count }, { deadline: deadline() });
    call.on('data', (reply) => process.stdout.write(`${reply.message}\n`));
    call.on('error', failed);
    call.on('end', resolve);
  });
}
client.close();
