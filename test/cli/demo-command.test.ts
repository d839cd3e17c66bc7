// `wasmesh demo` in-process: a port it cannot bind names the flag that moves it (the control
// plane's too).
import { afterEach, describe, expect, it } from 'vitest';
import { demoCommand } from '../../host/cli/demo-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { busyPort as heldPort } from '../helpers/ports.js';

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
