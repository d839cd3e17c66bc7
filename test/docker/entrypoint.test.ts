// Tests docker/entrypoint.sh with a fake `node` on PATH: which command each mode runs (the sidecar
// by default, the one-listener proxy for gateways), with which arguments and defaults, that the
// proxy replaces the shell (signals reach it, its exit code is the container's), and that a root
// start drops to the proxy uid.
import { listenHelper } from '../helpers/listen-helper.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { WASMESH_NODE_FLAGS } from '../../host/cli/node-flags.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, copyFileSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRoot } from '../helpers/netns.js';

const ENTRYPOINT = fileURLToPath(new URL('../../docker/entrypoint.sh', import.meta.url));
const REPO = dirname(dirname(ENTRYPOINT));
const SHIM = fileURLToPath(new URL('./fixtures/fake-node.sh', import.meta.url));
const FAKE_HOME = '/opt/wasmesh-test-home';

let dir = '';
let out = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-entrypoint-'));
  // Readable and writable by the proxy uid too, for the privilege-drop test.
  chmodSync(dir, 0o777);
  copyFileSync(SHIM, join(dir, 'node'));
  chmodSync(join(dir, 'node'), 0o755);
  out = join(dir, 'out.txt');
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('WASMESH_') || k === 'POD_NAMESPACE' || k === 'ISTIO_META_POD_PORTS' || k === 'ISTIO_KUBE_APP_PROBERS' || k === 'PROXY_CONFIG' || k === 'CA_ADDR') delete base[k];
  return {
    ...base, PATH: `${dir}:${process.env.PATH}`, SHIM_OUT: out,
    WASMESH_HOME: FAKE_HOME, WASMESH_PROXY_UID: '0', ...extra,
  };
}

function entry(args: string[], extra: Record<string, string> = {}) {
  rmSync(out, { force: true });
  const r = spawnSync(ENTRYPOINT, args, { encoding: 'utf8', env: env(extra), timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What the fake node recorded: its arguments, uid and pid. */
function recorded() {
  const lines = readFileSync(out, 'utf8').split('\n');
  const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
  return {
    args: lines.filter((l) => l.startsWith('arg=')).map((l) => l.slice(4)),
    uid: Number(value('uid')), pid: Number(value('pid')), signal: value('signal'), listen: value('listen'),
  };
}

const CLI = `${FAKE_HOME}/bin/wasmesh.js`;
/** node's own flags before the CLI: the V8 settings every wasmesh process runs with. */
const NODE_FLAGS = [...WASMESH_NODE_FLAGS];
const DEFAULTS = ['-f', '/etc/wasmesh', '--listen', '0.0.0.0:15001', '--admin', '127.0.0.1:15000'];
const SIDECAR_DEFAULTS = ['-f', '/etc/wasmesh', '--app-ports', '5005', '--outbound', '0.0.0.0:15001',
  '--inbound', '0.0.0.0:15006', '--health', '0.0.0.0:15021'];
const APP = { WASMESH_APP_PORTS: '5005' };

describe('entrypoint sidecar mode with WASMESH_INTERCEPTION_MODE=TPROXY', () => {
  it.skipIf(skipUnlessRoot())('starts the sidecar under the listen helper: transparent sockets handed over, uid dropped', () => {
    const helper = listenHelper();
    const r = entry([], { ...APP, WASMESH_INTERCEPTION_MODE: 'TPROXY', WASMESH_LISTEN_HELPER: helper, WASMESH_PROXY_UID: '1337',
      WASMESH_OUTBOUND: '127.0.0.1:0', WASMESH_INBOUND: '127.0.0.1:0' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = recorded();
    // Two descriptors named as the sidecar expects, meant for this very process (the helper exec'd node).
    expect(got.listen).toBe('2:outbound:inbound:own');
    expect(got.uid).toBe(1337);
    expect(got.args).toContain('sidecar');
  });

  it('refuses an unknown mode with its code', () => {
    const bad = entry([], { ...APP, WASMESH_INTERCEPTION_MODE: 'NAT' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error[ENTRYPOINT_BAD_INTERCEPTION]');
  });

  it.skipIf(skipUnlessRoot())('refuses a missing helper (as root, where TPROXY can start)', () => {
    const missing = entry([], { ...APP, WASMESH_INTERCEPTION_MODE: 'TPROXY', WASMESH_LISTEN_HELPER: '/nonexistent/wasmesh-listen' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('error[ENTRYPOINT_NO_LISTEN_HELPER]');
  });
});

describe('entrypoint sidecar mode (the default)', () => {
  it('WASMESH_NODE_FLAGS replaces the V8 settings (empty: node defaults)', () => {
    entry([], { ...APP, WASMESH_NODE_FLAGS: '--max-semi-space-size=4 --v8-pool-size=1' });
    expect(recorded().args).toEqual(['--max-semi-space-size=4', '--v8-pool-size=1', CLI, 'sidecar', ...SIDECAR_DEFAULTS]);
    entry([], { ...APP, WASMESH_NODE_FLAGS: '' });
    expect(recorded().args).toEqual([CLI, 'sidecar', ...SIDECAR_DEFAULTS]);
  });

  it('with no arguments runs the sidecar with the default config dir, capture ports and health; the admin left to the sidecar (the pod\'s localhost)', () => {
    expect(entry([], APP).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...SIDECAR_DEFAULTS]);
  });

  it('`sidecar` takes its defaults from the environment', () => {
    entry(['sidecar'], {
      WASMESH_CONFIG: '/cfg', WASMESH_APP_PORTS: '9080,9443', WASMESH_OUTBOUND: '127.0.0.1:7001',
      WASMESH_INBOUND: '127.0.0.1:7006', WASMESH_HEALTH: '127.0.0.1:7021', WASMESH_ADMIN: '0.0.0.0:7000',
      WASMESH_NAMESPACE: 'shop', WASMESH_LABELS: 'app=web,version=v1',
    });
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '-f', '/cfg', '--app-ports', '9080,9443',
      '--outbound', '127.0.0.1:7001', '--inbound', '127.0.0.1:7006', '--health', '127.0.0.1:7021',
      '--admin', '0.0.0.0:7000', '--namespace', 'shop', '--labels', 'app=web,version=v1']);
  });

  it("takes the namespace from Istio's POD_NAMESPACE when WASMESH_NAMESPACE is unset", () => {
    entry([], { ...APP, POD_NAMESPACE: 'bookinfo' });
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...SIDECAR_DEFAULTS, '--namespace', 'bookinfo']);
  });

  it("takes the app ports from Istio's ISTIO_META_POD_PORTS (TCP only) when WASMESH_APP_PORTS is unset", () => {
    const pod = '[\n {"name":"http","containerPort":9080,"protocol":"TCP"},{"containerPort": 53, "protocol": "UDP"},\n {"containerPort":8443}]';
    entry([], { ISTIO_META_POD_PORTS: pod });
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...SIDECAR_DEFAULTS.map((a) => (a === '5005' ? '9080,8443' : a))]);
    // The explicit setting wins.
    entry([], { ISTIO_META_POD_PORTS: pod, WASMESH_APP_PORTS: '7000' });
    expect(recorded().args).toContain('7000');
  });

  it("hands Istio's ISTIO_KUBE_APP_PROBERS to the sidecar as --app-probers (unset or empty: not at all)", () => {
    const probers = '{"/app-health/web/readyz":{"httpGet":{"path":"/ready","port":5005}}}';
    entry([], { ...APP, ISTIO_KUBE_APP_PROBERS: probers });
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...SIDECAR_DEFAULTS, '--app-probers', probers]);
    entry([], { ...APP, ISTIO_KUBE_APP_PROBERS: '' });
    expect(recorded().args).not.toContain('--app-probers');
  });

  it('refuses to start without app ports, saying which variable to set', () => {
    const r = entry([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error\[ENTRYPOINT_NO_APP_PORTS\].*WASMESH_APP_PORTS/);
    expect(existsSync(out)).toBe(false); // node was not run
    expect(entry([], { ISTIO_META_POD_PORTS: '[{"containerPort":53,"protocol":"UDP"}]' }).status).toBe(2);
  });

  it('appends extra sidecar arguments after the defaults, and adds no default for a flag given', () => {
    entry(['sidecar', '--app-ports', '8080', '--inbound=127.0.0.1:9006', '-f', '/a.yaml'], APP);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '--outbound', '0.0.0.0:15001', '--health', '0.0.0.0:15021',
      '--app-ports', '8080', '--inbound=127.0.0.1:9006', '-f', '/a.yaml']);
  });

  it('binds the pod\'s wildcard: [::] when INSTANCE_IPS has an IPv6 address (IPv6-only or dual-stack), else 0.0.0.0', () => {
    for (const ips of ['fd00::5', '10.0.0.5,fd00::5']) {
      entry(['sidecar', '-f', '/cfg'], { ...APP, INSTANCE_IPS: ips });
      expect(recorded().args, ips).toEqual([...NODE_FLAGS, CLI, 'sidecar', '--app-ports', '5005', '--outbound', '[::]:15001', '--inbound', '[::]:15006',
        '--health', '[::]:15021', '-f', '/cfg']);
    }
    entry(['sidecar', '-f', '/cfg'], { ...APP, INSTANCE_IPS: '10.0.0.5' });
    expect(recorded().args).toContain('0.0.0.0:15001');
  });

  it('treats leading sidecar flags as sidecar mode', () => {
    entry(['--app-ports', '8080', '-f', '/cfg'], APP);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '--outbound', '0.0.0.0:15001', '--inbound', '0.0.0.0:15006',
      '--health', '0.0.0.0:15021', '--app-ports', '8080', '-f', '/cfg']);
  });

  it("runs the sidecar for Istio's injected istio-proxy arguments (`proxy sidecar ...`), ignoring them, and says so", () => {
    const r = entry(['proxy', 'sidecar', '--configPath', '/etc/istio/proxy', '--serviceCluster', 'web'], APP);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...SIDECAR_DEFAULTS]);
    expect(r.stderr).toMatch(/ignoring Istio pilot-agent arguments: sidecar --configPath/);
  });

  it("propagates the sidecar's exit code", () => {
    expect(entry([], { ...APP, SHIM_EXIT: '7' }).status).toBe(7);
  });

  it.skipIf(skipUnlessRoot())('started as root, drops to the proxy uid 1337', () => {
    expect(entry([], { ...APP, WASMESH_PROXY_UID: '1337' }).status).toBe(0);
    expect(recorded().uid).toBe(1337);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...SIDECAR_DEFAULTS]);
  });
});

describe('entrypoint sidecar mode with the config from the control plane (no config mounted)', () => {
  const files = (): { token: string; root: string } => {
    const token = join(dir, 'istio-token');
    const root = join(dir, 'root-cert.pem');
    writeFileSync(token, 'x.y.z\n');
    writeFileSync(root, 'PEM\n');
    return { token, root };
  };
  const NO_CONFIG = { WASMESH_CONFIG: join(tmpdir(), 'wasmesh-no-such-config') };
  const REST = ['--app-ports', '5005', '--outbound', '0.0.0.0:15001', '--inbound', '0.0.0.0:15006', '--health', '0.0.0.0:15021'];

  it("takes PROXY_CONFIG's discoveryAddress (as kube-inject writes it) and CA_ADDR: --xds --xds-tls with the pod's token and root", () => {
    const { token, root } = files();
    const r = entry([], { ...APP, ...NO_CONFIG, WASMESH_TOKEN_FILE: token, WASMESH_CA_ROOT: root,
      PROXY_CONFIG: JSON.stringify({ concurrency: 2, discoveryAddress: 'istiod.istio-system.svc:15012' }), CA_ADDR: 'istiod.istio-system.svc:15012' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`no config at ${NO_CONFIG.WASMESH_CONFIG}: taking it from the control plane at istiod.istio-system.svc:15012`);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '--xds', 'istiod.istio-system.svc:15012', '--xds-tls', '--token-file', token, '--ca-root', root,
      '--ca-address', 'istiod.istio-system.svc:15012', ...REST]);
  });

  it('WASMESH_XDS wins over PROXY_CONFIG; without CA_ADDR the CA is the xDS address', () => {
    const { token, root } = files();
    const r = entry([], { ...APP, ...NO_CONFIG, WASMESH_TOKEN_FILE: token, WASMESH_CA_ROOT: root, WASMESH_XDS: '10.0.0.1:15012',
      PROXY_CONFIG: '{"discoveryAddress":"istiod.istio-system.svc:15012"}' });
    expect(r.status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '--xds', '10.0.0.1:15012', '--xds-tls', '--token-file', token, '--ca-root', root,
      '--ca-address', '10.0.0.1:15012', ...REST]);
  });

  it('a mounted config, an -f given, or no address: the files, as before', () => {
    const mounted = mkdtempSync(join(dir, 'config-'));
    expect(entry([], { ...APP, WASMESH_CONFIG: mounted, WASMESH_XDS: '10.0.0.1:15012' }).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '-f', mounted, ...REST]);
    expect(entry(['sidecar', '-f', '/srv/mesh.yaml'], { ...APP, ...NO_CONFIG, WASMESH_XDS: '10.0.0.1:15012' }).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', ...REST, '-f', '/srv/mesh.yaml']);
    expect(entry([], { ...APP, ...NO_CONFIG, PROXY_CONFIG: '{"concurrency":2}' }).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'sidecar', '-f', NO_CONFIG.WASMESH_CONFIG, ...REST]);
  });

  it('refuses to start without the token or the root, naming the file and where it comes from', () => {
    const { token } = files();
    let r = entry([], { ...APP, ...NO_CONFIG, WASMESH_XDS: '10.0.0.1:15012', WASMESH_TOKEN_FILE: join(dir, 'none'), WASMESH_CA_ROOT: join(dir, 'none') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`error[ENTRYPOINT_NO_TOKEN]: xDS from 10.0.0.1:15012 needs the pod's istio-token at ${join(dir, 'none')}`);
    r = entry([], { ...APP, ...NO_CONFIG, WASMESH_XDS: '10.0.0.1:15012', WASMESH_TOKEN_FILE: token, WASMESH_CA_ROOT: join(dir, 'none') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`error[ENTRYPOINT_NO_CA_ROOT]: xDS from 10.0.0.1:15012 needs the mesh root at ${join(dir, 'none')} (the istio-ca-root-cert ConfigMap's root-cert.pem`);
  });

  it('proxy mode (a gateway pod) takes its config from the control plane the same way; a mounted config or -f still wins', () => {
    const { token, root } = files();
    const env = { ...NO_CONFIG, WASMESH_TOKEN_FILE: token, WASMESH_CA_ROOT: root, PROXY_CONFIG: '{"discoveryAddress":"istiod.istio-system.svc:15012"}' };
    const r = entry(['proxy', '--gateway', 'default/frontend-gateway', '--listen', '0.0.0.0:8080'], env);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('taking it from the control plane at istiod.istio-system.svc:15012');
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '--xds', 'istiod.istio-system.svc:15012', '--xds-tls', '--token-file', token, '--ca-root', root,
      '--ca-address', 'istiod.istio-system.svc:15012', '--admin', '127.0.0.1:15000', '--gateway', 'default/frontend-gateway', '--listen', '0.0.0.0:8080']);
    const mounted = mkdtempSync(join(dir, 'config-'));
    expect(entry(['proxy'], { ...env, WASMESH_CONFIG: mounted }).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '-f', mounted, '--listen', '0.0.0.0:15001', '--admin', '127.0.0.1:15000']);
    expect(entry(['proxy', '-f', '/gw.yaml'], env).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '--listen', '0.0.0.0:15001', '--admin', '127.0.0.1:15000', '-f', '/gw.yaml']);
    const missing = entry(['proxy'], { ...env, WASMESH_TOKEN_FILE: join(dir, 'none') });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('error[ENTRYPOINT_NO_TOKEN]');
  });
});

describe('entrypoint proxy mode (one listener, for gateways)', () => {
  it('`proxy` runs the proxy with the default config dir, listener and loopback admin', () => {
    expect(entry(['proxy']).status).toBe(0);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', ...DEFAULTS]);
  });

  it('`proxy` takes its defaults from the environment', () => {
    entry(['proxy'], { WASMESH_CONFIG: '/cfg', WASMESH_LISTEN: '127.0.0.1:9001', WASMESH_ADMIN: '0.0.0.0:9000' });
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '-f', '/cfg', '--listen', '127.0.0.1:9001', '--admin', '0.0.0.0:9000']);
  });

  it('appends extra proxy arguments after the defaults', () => {
    entry(['proxy', '--gateway', 'default/web-gateway']);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', ...DEFAULTS, '--gateway', 'default/web-gateway']);
  });

  it('does not add a default for a flag the caller gave', () => {
    entry(['proxy', '-f', '/a.yaml', '-f', '/b', '--listen=127.0.0.1:8080']);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '--admin', '127.0.0.1:15000', '-f', '/a.yaml', '-f', '/b', '--listen=127.0.0.1:8080']);
  });

  it('treats leading flags that include --listen or --gateway as proxy mode', () => {
    entry(['--listen', '127.0.0.1:8080', '--gateway', 'web-gateway']);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '-f', '/etc/wasmesh', '--admin', '127.0.0.1:15000',
      '--listen', '127.0.0.1:8080', '--gateway', 'web-gateway']);
    entry(['-f', '/gw', '--gateway=web-gateway']);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', '--listen', '0.0.0.0:15001', '--admin', '127.0.0.1:15000', '-f', '/gw', '--gateway=web-gateway']);
  });

  it("propagates the proxy's exit code", () => {
    expect(entry(['proxy'], { SHIM_EXIT: '7' }).status).toBe(7);
  });

  it.skipIf(skipUnlessRoot())('started as root, drops to the proxy uid 1337', () => {
    expect(entry(['proxy'], { WASMESH_PROXY_UID: '1337' }).status).toBe(0);
    expect(recorded().uid).toBe(1337);
    expect(recorded().args).toEqual([...NODE_FLAGS, CLI, 'proxy', ...DEFAULTS]);
  });
});

describe('entrypoint signals', () => {
  /** Starts the entrypoint with the fake node waiting; resolves once it is ready. */
  async function started(mode: string) {
    rmSync(out, { force: true });
    const child = spawn(ENTRYPOINT, [], { env: env({ ...APP, SHIM_MODE: mode }), stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake proxy not ready in 10 s')), 10_000);
      child.stdout.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(); } });
      child.on('exit', () => { clearTimeout(timer); reject(new Error('exited early')); });
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited };
  }

  it('execs the sidecar: same pid, so SIGTERM reaches it and its exit code comes back', async () => {
    const { child, exited } = await started('trap');
    expect(recorded().pid).toBe(child.pid);
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 42, signal: null });
    expect(recorded().signal).toBe('TERM');
  });

  it('SIGINT reaches the proxy too', async () => {
    const { child, exited } = await started('trap');
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: 43, signal: null });
    expect(recorded().signal).toBe('INT');
  });

  it('a proxy without handlers dies of the SIGTERM, reported as such', async () => {
    const { child, exited } = await started('wait');
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
  });
});

describe('entrypoint init and passthrough modes', () => {
  it('`init` runs iptables-init with the arguments given', () => {
    const r = entry(['init', '--dry-run', '-b', '5005'], { WASMESH_HOME: REPO });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('iptables -t nat -A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -j ISTIO_IN_REDIRECT');
    expect(existsSync(out)).toBe(false); // node was not run
  });

  it("accepts istio-init's own arguments directly (drop-in for the init container)", () => {
    const r = entry(['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '5005', '-d', '', '--dry-run'],
      { WASMESH_HOME: REPO });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001');
    expect(r.stdout).toContain('--dport 5005 -j ISTIO_IN_REDIRECT');
  });

  it("passes init's usage errors and exit code through", () => {
    const r = entry(['init', '-m', 'SNAT'], { WASMESH_HOME: REPO });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error[INIT_BAD_MODE]');
  });

  it('`control-plane` runs the control plane with exactly the arguments given (no defaults)', () => {
    const args = ['--kube', '--xds-listen', '0.0.0.0:15010', '--ca-dir', '/var/run/wasmesh/ca'];
    const r = entry(['control-plane', ...args]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const got = recorded();
    expect(got.args).toEqual([...NODE_FLAGS, CLI, 'control-plane', ...args]);
    // No sidecar defaults leak in: the control plane needs no app ports, and nothing asked for them.
    expect(got.args).not.toContain('--app-ports');
  });

  it.skipIf(skipUnlessRoot())('`control-plane` started as root drops to the proxy uid 1337', () => {
    entry(['control-plane', '--kube'], { WASMESH_PROXY_UID: '1337' });
    expect(recorded().uid).toBe(1337);
  });

  it('runs any other command as given, with its exit code', () => {
    const r = entry(['sh', '-c', 'echo passthrough "$0"; exit 5', 'arg0']);
    expect(r.stdout).toBe('passthrough arg0\n');
    expect(r.status).toBe(5);
  });

  it('rejects an unknown leading option instead of guessing a mode', () => {
    const r = entry(['--verbose'], APP);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--verbose': give a mode first \(sidecar, proxy, init\)/);
    expect(existsSync(out)).toBe(false);
  });
});
