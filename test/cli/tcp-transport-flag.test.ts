// `--tcp-transport <socket|handle>`: checked at start (an unknown value a usage error naming the
// flag), the choice named on `wasmesh proxy`'s start-up line.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../host/cli/main.js';
import { describeTcpTransport, tcpTransportFromFlags } from '../../host/cli/tcp-transport-flag.js';
import { UsageError } from '../../host/cli/args.js';
import { fakeIo } from '../helpers/fake-io.js';

const root = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-transport-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'gw.yaml'), `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-gateway}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`);

const proxyArgs = ['proxy', '-f', root, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--gateway', 'web-gateway', '--access-log', 'off'];

describe('--tcp-transport', () => {
  it('socket, handle, and the default (handle here: Node 20 passes the check)', () => {
    expect(tcpTransportFromFlags('proxy', { 'tcp-transport': 'socket' })).toEqual({ kind: 'socket', binding: null, refused: null });
    expect(tcpTransportFromFlags('proxy', { 'tcp-transport': 'handle' }).kind).toBe('handle');
    expect(tcpTransportFromFlags('proxy', {}).kind).toBe('handle');
  });

  it('an unknown value: a usage error naming the flag and the value', () => {
    expect(() => tcpTransportFromFlags('proxy', { 'tcp-transport': 'uring' })).toThrow(UsageError);
    expect(() => tcpTransportFromFlags('proxy', { 'tcp-transport': 'uring' })).toThrow('--tcp-transport: expected socket or handle, got "uring"');
  });

  it('the start-up line\'s words, with the reason when the handle transport was refused', () => {
    expect(describeTcpTransport({ kind: 'handle', binding: null, refused: null })).toBe('tcp transport handle');
    expect(describeTcpTransport({ kind: 'socket', binding: null, refused: 'Node\'s internal TCP binding changed: x' })).toBe('tcp transport socket (handle refused: Node\'s internal TCP binding changed: x)');
  });

  it.each(['socket', 'handle'])('wasmesh proxy --tcp-transport %s: named on the start-up line', async (kind) => {
    const io = fakeIo({ stopWith: 'SIGTERM' });
    expect(await main([...proxyArgs, '--tcp-transport', kind], io)).toBe(0);
    expect(io.stderr).toMatch(new RegExp(`wasmesh proxy: serving gateway web-gateway .*tcp transport ${kind};`));
  });

  it('wasmesh proxy --tcp-transport bogus: refused before anything starts', async () => {
    const io = fakeIo({ stopWith: 'SIGTERM' });
    expect(await main([...proxyArgs, '--tcp-transport', 'bogus'], io)).not.toBe(0);
    expect(io.stderr).toContain('--tcp-transport: expected socket or handle, got "bogus"');
  });
});
