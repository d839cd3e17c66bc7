// docker/wasmesh-listen.c, the socket-activation helper: compiled here with gcc (a missing
// compiler fails the suite), its argument errors (exit 2, a stable code), a system refusal
// (exit 1), and the hand-over itself: Node, exec'd by the helper, adopts the named descriptors
// through host/listener/socket-activation.ts and accepts connections on them.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { listenHelper } from '../helpers/listen-helper.js';

const ADOPT = fileURLToPath(new URL('./fixtures/adopt-listen-fds.mjs', import.meta.url));

function helper(args: string[]) {
  const r = spawnSync(listenHelper(), args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wasmesh-listen', () => {
  let bin = '';
  beforeAll(() => {
    bin = listenHelper();
  }, 120_000);

  it.each([
    [['--', 'true'], 'LISTEN_NONE'],
    [['--listen', 'a=127.0.0.1:0'], 'LISTEN_NO_COMMAND'],
    [['--listen'], 'LISTEN_MISSING_VALUE'],
    [['--listen', '127.0.0.1:80', '--', 'true'], 'LISTEN_BAD_SPEC'],
    [['--listen', 'a:b=127.0.0.1:80', '--', 'true'], 'LISTEN_BAD_NAME'],
    [['--listen', 'a=localhost:80', '--', 'true'], 'LISTEN_BAD_ADDRESS'],
    [['--listen', 'a=::1:80', '--', 'true'], 'LISTEN_BAD_ADDRESS'],
    [['--listen', 'a=[::1:80', '--', 'true'], 'LISTEN_BAD_SPEC'],
    [['--listen', 'a=[::1]80', '--', 'true'], 'LISTEN_BAD_SPEC'],
    [['--listen', 'a=[127.0.0.1]:80', '--', 'true'], 'LISTEN_BAD_ADDRESS'],
    [['--listen', 'a=[]:80', '--', 'true'], 'LISTEN_BAD_ADDRESS'],
    [['--listen', 'a=[::1]:65536', '--', 'true'], 'LISTEN_BAD_PORT'],
    [['--listen', 'a=127.0.0.1:65536', '--', 'true'], 'LISTEN_BAD_PORT'],
    [['--listen', 'a=127.0.0.1:0', '--listen', 'a=127.0.0.1:0', '--', 'true'], 'LISTEN_DUPLICATE_NAME'],
    [['--listen', 'a=127.0.0.1:0', '--user', 'nobody', '--', 'true'], 'LISTEN_BAD_USER'],
    [['--bogus', '--', 'true'], 'LISTEN_UNKNOWN_FLAG'],
  ])('refuses %j with exit 2 and error[%s]', (args, code) => {
    const r = helper(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`wasmesh-listen: error[${code}]`);
    expect(r.stderr).toContain('usage: wasmesh-listen');
  });

  it('exits 1 naming the socket when the port cannot be bound, 127 when the command cannot run', () => {
    const busy = createServer();
    return new Promise<void>((done) => busy.listen(0, '127.0.0.1', () => {
      const port = (busy.address() as { port: number }).port;
      const r = helper(['--listen', `outbound=127.0.0.1:${port}`, '--', 'true']);
      busy.close();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`error\\[LISTEN_BIND_FAILED\\]: cannot bind outbound to 127.0.0.1:${port}: Address already in use`));
      const missing = helper(['--listen', 'outbound=127.0.0.1:0', '--', '/nonexistent/cmd']);
      expect(missing.status).toBe(127);
      expect(missing.stderr).toContain('error[LISTEN_EXEC_FAILED]');
      done();
    }));
  });

  it('hands named listening sockets to the exec\'d process, which Node adopts and accepts on', async () => {
    const child = spawnSync(bin, ['--listen', 'outbound=127.0.0.1:0', '--listen', 'inbound=127.0.0.1:0', '--', process.execPath, ADOPT], { encoding: 'utf8', timeout: 20_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const got = JSON.parse(child.stdout) as { names: Record<string, number>; echoed: Record<string, string>; pidMatches: boolean };
    expect(got.names).toEqual({ outbound: 3, inbound: 4 });
    expect(got.pidMatches).toBe(true);
    expect(got.echoed).toEqual({ outbound: 'hello outbound', inbound: 'hello inbound' });
  });

  it('makes IPv6 sockets for [ADDR]:PORT, and [::] takes IPv4 too (mapped addresses)', () => {
    const child = spawnSync(bin, ['--listen', 'outbound=[::]:0', '--listen', 'inbound=[::1]:0', '--', process.execPath, ADOPT], { encoding: 'utf8', timeout: 20_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const got = JSON.parse(child.stdout) as { names: Record<string, number>; echoed: Record<string, string>; seen: Record<string, string[]> };
    expect(got.names).toEqual({ outbound: 3, inbound: 4 });
    expect(got.echoed).toEqual({ outbound: 'hello outbound,hello outbound', inbound: 'hello inbound' });
    expect(got.seen).toEqual({ outbound: ['::ffff:127.0.0.1', '::1'], inbound: ['::1'] });
  });

  it('names the IPv6 socket that cannot be bound', () => {
    const busy = createServer();
    return new Promise<void>((done) => busy.listen(0, '::1', () => {
      const port = (busy.address() as { port: number }).port;
      const r = helper(['--listen', `inbound=[::1]:${port}`, '--', 'true']);
      busy.close();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error[LISTEN_BIND_FAILED]: cannot bind inbound to [::1]:${port}: Address already in use`);
      done();
    }));
  });

  it('with --user, the exec\'d process runs as that uid and gid without capabilities', () => {
    if (process.getuid?.() !== 0) return expect(helper(['--listen', 'a=127.0.0.1:0', '--user', '1337', '--', 'true']).status).toBe(1);
    const r = helper(['--listen', 'a=127.0.0.1:0', '--user', '1337:1338', '--', 'sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['1337', '1338', 'CapEff:\t0000000000000000']);
    // The listening socket itself belongs to the proxy's uid (made under its fsuid), so iptables'
    // owner match exempts what the kernel sends for it before accept().
    const owned = helper(['--listen', 'a=127.0.0.1:0', '--user', '1337', '--', 'sh', '-c', 'ss -ltne']);
    expect(owned.stdout).toMatch(/127\.0\.0\.1:\d+ .* uid:1337 /);
    // IPV6_TRANSPARENT on an IPv6 socket (root keeps CAP_NET_ADMIN until the drop).
    const v6 = helper(['--transparent', '--listen', 'a=[::1]:0', '--user', '1337', '--', 'sh', '-c', 'ss -ltne']);
    expect(v6.stderr).toBe('');
    expect(v6.stdout).toMatch(/\[::1\]:\d+ .* uid:1337 /);
  });
});
