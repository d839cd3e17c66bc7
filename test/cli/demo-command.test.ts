// `wasmesh demo` in-process: a port it cannot bind names the flag that moves it (the control
// plane's too).
import { afterEach, describe, expect, it } from 'vitest';
import { demoCommand } from '../../host/cli/demo-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { busyPort as heldPort } from '../helpers/ports.js';
import { createServer } from 'node:net';
import { findOnPath } from '../../host/demo/apps/redis-app.js';

/** The control plane on free ports, so that these tests do not need 15010 and 15014. */
const CP_FREE = ['--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0'];

let blockers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(blockers.map((b) => b.close()));
  blockers = [];
});

/** A port on 127.0.0.1 held open for the test. */
async function busyPort(): Promise<number> {
  const held = await heldPort();
  blockers.push(held);
  return held.port;
}

describe('wasmesh demo: a busy port names its flag', () => {
  it('a demo app port: --app-ports', async () => {
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['--port', '0', '--admin', '127.0.0.1:0', ...CP_FREE, '--app-ports', `${port},0`, '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toBe(`wasmesh demo: demo app web-v1 port ${port} on 127.0.0.1 is already in use; choose another with --app-ports <v1,v2> (0,0: two free ports)\n`);
  });

  it('the admin port: --admin', async () => {
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['--port', '0', '--admin', `127.0.0.1:${port}`, ...CP_FREE, '--app-ports', '0,0', '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh demo: admin port ${port} on 127.0.0.1 is already in use; choose another with --admin <host:port>\n`);
  });

  it('the gateway port of a scenario: --port', async () => {
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['istio101', '--port', String(port), '--admin', '127.0.0.1:0', ...CP_FREE, '--app-ports', '0', '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh demo istio101: gateway port ${port} on 127.0.0.1 is already in use; choose another with --port <port>\n`);
  });

  it('the control plane\'s monitoring port: --monitoring', async () => {
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['--port', '0', '--admin', '127.0.0.1:0', '--xds-listen', '127.0.0.1:0', '--monitoring', `127.0.0.1:${port}`, '--app-ports', '0,0', '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh demo: control plane monitoring port ${port} on 127.0.0.1 is already in use; choose another with --monitoring <host:port>\n`);
  });

  it('the control plane\'s xDS port of a scenario: --xds-listen', async () => {
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['bookinfo', '--port', '0', '--admin', '127.0.0.1:0', '--xds-listen', `127.0.0.1:${port}`, '--monitoring', '127.0.0.1:0', '--app-ports', '0', '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh demo bookinfo: control plane xDS port ${port} on 127.0.0.1 is already in use; choose another with --xds-listen <host:port>\n`);
  });

  it('the CA\'s port of --mtls: --secure-listen', async () => {
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['istio101', '--mtls', '--secure-listen', `127.0.0.1:${port}`, '--port', '0', '--admin', '127.0.0.1:0', ...CP_FREE, '--app-ports', '0', '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh demo istio101: control plane CA port ${port} on 127.0.0.1 is already in use; choose another with --secure-listen <host:port>\n`);
  });
});

describe('wasmesh demo --mtls: usage', () => {
  it('needs a scenario; --secure-listen needs --mtls', async () => {
    await expect(demoCommand(['--mtls'], fakeIo())).rejects.toThrow(/--mtls goes with a scenario that has mesh-wide STRICT mTLS: wasmesh demo istio101 --mtls/);
    await expect(demoCommand(['istio101', '--secure-listen', '127.0.0.1:0'], fakeIo())).rejects.toThrow(/--secure-listen goes with --mtls/);
  });
});

describe('wasmesh demo protocols: usage and ports', () => {
  it('--redis-port goes with protocols; --mtls, --secure-listen and --credentials-dir and --app-ports other than 0 do not', async () => {
    await expect(demoCommand(['istio101', '--redis-port', '6380'], fakeIo())).rejects.toThrow(/--redis-port goes with the protocols demo: wasmesh demo protocols --redis-port <port>/);
    await expect(demoCommand(['--redis-port', '6380'], fakeIo())).rejects.toThrow(/--redis-port goes with the protocols demo/);
    await expect(demoCommand(['protocols', '--mtls'], fakeIo())).rejects.toThrow(/wasmesh demo protocols: --mtls: the protocols demo has no mesh-wide STRICT mode/);
    await expect(demoCommand(['protocols', '--secure-listen', '127.0.0.1:0'], fakeIo())).rejects.toThrow(/--secure-listen: the protocols demo has no mesh-wide STRICT mode/);
    await expect(demoCommand(['protocols', '--app-ports', '15401,15402'], fakeIo())).rejects.toThrow(/--app-ports "15401,15402": with protocols only 0/);
    await expect(demoCommand(['protocols', '--redis-port', 'x'], fakeIo())).rejects.toThrow(/--redis-port/);
  });

  it.skipIf(findOnPath('redis-server') === null && process.env.WASMESH_REQUIRE_TCPSERVERS !== '1')('a busy Redis gateway port names --redis-port (needs redis-server: without it no Redis port is served)', async () => {
    expect(findOnPath('redis-server'), 'WASMESH_REQUIRE_TCPSERVERS=1 but redis-server is not on PATH').not.toBeNull();
    const port = await busyPort();
    const io = fakeIo();
    expect(await demoCommand(['protocols', '--port', '0', '--admin', '127.0.0.1:0', ...CP_FREE, '--app-ports', '0', '--redis-port', String(port), '--no-access-log'], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh demo protocols: gateway (Gateway port 6379) port ${port} on 127.0.0.1 is already in use; choose another with --redis-port <port>\n`);
  });

  it('a busy app port (the example\'s greeter-v1 port, 15401) names --app-ports 0', async () => {
    // Held here, or already held by something else: busy either way.
    const held = createServer();
    const holding = await new Promise<boolean>((resolve) => {
      held.once('error', () => resolve(false));
      held.listen(15401, '127.0.0.1', () => resolve(true));
    });
    try {
      const io = fakeIo();
      expect(await demoCommand(['protocols', '--port', '0', '--admin', '127.0.0.1:0', ...CP_FREE, '--redis-port', '0', '--no-access-log'], io)).toBe(1);
      expect(io.stderr).toBe('wasmesh demo protocols: greeter-v1 app port 15401 on 127.0.0.1 is already in use; choose another with --app-ports 0 (every app on a free port)\n');
    } finally {
      if (holding) await new Promise((r) => held.close(r));
    }
  });
});
