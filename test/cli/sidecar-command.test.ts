// `wasmesh sidecar`'s command line through the CLI entry point: --app-ports validation, the
// port clashes refused before anything binds (exit 2), help, and the listing in `wasmesh --help`.
import { describe, it, expect } from 'vitest';
import { main } from '../../host/cli/main.js';
import { minimumDrainFromFlags, parseAppPorts, sidecarDefaultAddresses, terminationDrainFromFlags } from '../../host/cli/sidecar-command.js';
import { UsageError } from '../../host/cli/args.js';
import { fakeIo } from '../helpers/fake-io.js';

async function run(args: string[]) {
  const io = fakeIo();
  const code = await main(['sidecar', ...args], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('--app-ports', () => {
  it('reads comma-separated ports in the order given', () => {
    expect(parseAppPorts('5005')).toEqual([5005]);
    expect(parseAppPorts(' 9080, 5005 ,')).toEqual([9080, 5005]);
  });

  it('refuses what is not an app port, saying why', () => {
    expect(() => parseAppPorts('')).toThrow(/at least one port/);
    expect(() => parseAppPorts('http')).toThrow(/"http" is not a number/);
    expect(() => parseAppPorts('70000')).toThrow(/out of range/);
    expect(() => parseAppPorts('0')).toThrow(/port 0/);
    expect(() => parseAppPorts('5005,5005')).toThrow(/5005 is given twice/);
    for (const own of ['15000', '15001', '15006', '15020', '15021', '15090']) {
      expect(() => parseAppPorts(`5005,${own}`)).toThrow(UsageError);
      expect(() => parseAppPorts(own)).toThrow(/sidecar's own ports .* would loop/);
    }
  });
});

describe('wasmesh sidecar usage errors exit 2 before anything starts', () => {
  const base = ['-f', 'examples/000-web-demo'];
  it.each([
    [[...base], /--app-ports <p\[,p…\]> is required/],
    [['--app-ports', '5005'], /at least one -f/],
    [[...base, '--app-ports', '5005', '--inbound', '127.0.0.1:5005'], /5005 is also the --inbound port/],
    [[...base, '--app-ports', '5005', '--outbound', '127.0.0.1:7000', '--inbound', '127.0.0.1:7000'], /--outbound and --inbound are both port 7000/],
    [[...base, '--app-ports', '5005', '--health', 'nowhere'], /--health "nowhere" is not host:port/],
    [[...base, '--app-ports', '5005', '--labels', 'app'], /^wasmesh sidecar: --labels: "app" is not a key=value label.*see `wasmesh sidecar --help`/m],
    [[...base, '--app-ports', '5005', '--listen', '127.0.0.1:1'], /unknown flag --listen/],
  ])('%j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('the listeners\' defaults follow the pod\'s families', () => {
  it('IPv4: 0.0.0.0 and the admin on 127.0.0.1; dual-stack: [::] (one dual-stack socket) and 127.0.0.1; IPv6-only: [::] and the admin on [::1], as Istio\'s bootstrap binds it', () => {
    expect(sidecarDefaultAddresses({ ipv4: true, ipv6: false })).toEqual({ outbound: '0.0.0.0:15001', inbound: '0.0.0.0:15006', health: '0.0.0.0:15021', admin: '127.0.0.1:15000' });
    expect(sidecarDefaultAddresses({ ipv4: true, ipv6: true })).toEqual({ outbound: '[::]:15001', inbound: '[::]:15006', health: '[::]:15021', admin: '127.0.0.1:15000' });
    expect(sidecarDefaultAddresses({ ipv4: false, ipv6: true })).toEqual({ outbound: '[::]:15001', inbound: '[::]:15006', health: '[::]:15021', admin: '[::1]:15000' });
  });

  it('a bad INSTANCE_IPS entry is warned of and skipped, not refused: the sidecar goes on (here to a later usage error) with the entries left', async () => {
    const saved = process.env.INSTANCE_IPS;
    process.env.INSTANCE_IPS = 'fd00::5,pod-a';
    try {
      // --admin port 7000 clashes with --outbound: the first refusal after the pod's addresses are read.
      const r = await run(['-f', 'examples/000-web-demo', '--app-ports', '5005', '--outbound', '127.0.0.1:7000', '--admin', '[::1]:7000']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/warn.*INSTANCE_IPS: skipped "pod-a" is not an IP address; the pod's addresses are fd00::5/);
      expect(r.stderr).toMatch(/info.*pod addresses fd00::5 \(INSTANCE_IPS\): IPv6 only/);
      expect(r.stderr).toMatch(/--outbound and --admin are both port 7000/);
    } finally {
      if (saved === undefined) delete process.env.INSTANCE_IPS; else process.env.INSTANCE_IPS = saved;
    }
  });
});

describe('wasmesh sidecar help', () => {
  it('--help lists its flags and defaults', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const text of ['--app-ports', '--access-log <path|-|off>', '--outbound <host:port>', 'default 0.0.0.0:15001', 'default 0.0.0.0:15006', 'default 0.0.0.0:15021', 'default 127.0.0.1:15000']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('is listed in `wasmesh --help`', async () => {
    const io = fakeIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/^ {2}sidecar +run the drop-in sidecar/m);
  });
});

describe('socket activation (LISTEN_FDS) in wasmesh sidecar', () => {
  const base = ['-f', 'examples/000-web-demo', '--app-ports', '5005'];
  const withEnv = async (env: Record<string, string>) => {
    const saved = { LISTEN_FDS: process.env.LISTEN_FDS, LISTEN_PID: process.env.LISTEN_PID, LISTEN_FDNAMES: process.env.LISTEN_FDNAMES };
    Object.assign(process.env, env);
    try {
      return await run(base);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  };

  it('refuses descriptors meant for another process before anything starts (exit 1, SOCKET_ACTIVATION)', async () => {
    const r = await withEnv({ LISTEN_FDS: '1', LISTEN_PID: String(process.pid + 1), LISTEN_FDNAMES: 'outbound' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wasmesh sidecar: wasmesh: socket activation: LISTEN_PID=\d+ is not this process .*\(SOCKET_ACTIVATION\)/);
  });

  it('refuses a descriptor named otherwise than outbound or inbound', async () => {
    const r = await withEnv({ LISTEN_FDS: '1', LISTEN_PID: String(process.pid), LISTEN_FDNAMES: 'admin' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/descriptor 3 is named "admin"; known names: 'outbound', 'inbound'/);
  });
});

describe('the termination drain\'s settings', () => {
  it('the deadline: the flag, else TERMINATION_DRAIN_DURATION_SECONDS, else 5 s; bad values are usage errors naming their source', () => {
    expect(terminationDrainFromFlags('1m30s', '7')).toBe(90_000);
    expect(terminationDrainFromFlags(undefined, '7')).toBe(7000);
    expect(terminationDrainFromFlags(undefined, undefined)).toBe(5000);
    expect(terminationDrainFromFlags(undefined, '')).toBe(5000);
    expect(() => terminationDrainFromFlags('soon', undefined)).toThrow(/--termination-drain-duration: "soon" is not a valid duration/);
    expect(() => terminationDrainFromFlags(undefined, '5s')).toThrow('TERMINATION_DRAIN_DURATION_SECONDS must be whole seconds, got "5s"');
  });

  it('the minimum: the flag, else MINIMUM_DRAIN_DURATION, else the whole drain with EXIT_ON_ZERO_ACTIVE_CONNECTIONS=false, else 0', () => {
    expect(minimumDrainFromFlags(undefined, {}, 5000)).toBe(0);
    expect(minimumDrainFromFlags(undefined, { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true' }, 5000)).toBe(0);
    expect(minimumDrainFromFlags(undefined, { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'false' }, 5000)).toBe(5000);
    expect(minimumDrainFromFlags(undefined, { MINIMUM_DRAIN_DURATION: '2s', EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'false' }, 5000)).toBe(2000);
    expect(minimumDrainFromFlags('300ms', { MINIMUM_DRAIN_DURATION: '2s' }, 5000)).toBe(300);
    expect(() => minimumDrainFromFlags(undefined, { MINIMUM_DRAIN_DURATION: '2' }, 5000)).toThrow(/MINIMUM_DRAIN_DURATION: "2" is not a valid duration/);
    expect(() => minimumDrainFromFlags(undefined, { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'yes' }, 5000)).toThrow('EXIT_ON_ZERO_ACTIVE_CONNECTIONS must be true or false, got "yes"');
  });
});
