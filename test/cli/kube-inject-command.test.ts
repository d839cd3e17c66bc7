// `wasmesh kube-inject`: -f file or stdin, -o file, --image, --meshConfig, --discoveryAddress;
// notes for workloads left alone on stderr; a bad document exits 1 with its location and prints
// nothing; usage mistakes are UsageErrors (exit 2).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../../host/cli/args.js';
import { kubeInjectCommand } from '../../host/cli/kube-inject-command.js';
import { fakeIo } from '../helpers/fake-io.js';

const dir = mkdtempSync(join(tmpdir(), 'kube-inject-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}, annotations: {sidecar.istio.io/inject: "false"}}
    spec: {containers: [{name: batch, image: busybox}]}
`;
const file = join(dir, 'in.yaml');
writeFileSync(file, MANIFEST);
const version = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).version as string;

type Obj = Record<string, any>;
const proxy = (d: Obj): Obj => d.spec.template.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
const env = (c: Obj, name: string): unknown => c.env.find((e: Obj) => e.name === name)?.value;

describe('wasmesh kube-inject', () => {
  it('-f file: prints every document, the opted-out one untouched with a note on stderr; the image is wasmesh/proxy:<version>', async () => {
    const io = fakeIo();
    expect(await kubeInjectCommand(['-f', file], io)).toBe(0);
    const docs = parseAllDocuments(io.stdout).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => d.metadata.name)).toEqual(['web', 'batch']);
    expect(proxy(docs[0]!).image).toBe(`wasmesh/proxy:${version}`);
    expect(docs[1]!.spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(['batch']);
    expect(io.stderr).toBe(`wasmesh kube-inject: ${file}: document 2 Deployment default/batch: not injected: sidecar.istio.io/inject is "false"\n`);
  });

  it('-f - reads stdin; -o writes the file; --image and --discoveryAddress are used', async () => {
    const io = fakeIo();
    const out = join(dir, 'out.yaml');
    expect(await kubeInjectCommand(['-f', '-', '-o', out, '--image', 'reg/wasmesh:dev', '--discoveryAddress', 'cp.mesh:15012'], io, () => MANIFEST)).toBe(0);
    expect(io.stdout).toBe('');
    const d = parseAllDocuments(readFileSync(out, 'utf8'))[0]!.toJS() as Obj;
    expect(proxy(d).image).toBe('reg/wasmesh:dev');
    expect(env(proxy(d), 'CA_ADDR')).toBe('cp.mesh:15012');
  });

  it('--meshConfig: defaultConfig and trustDomain; a bad mesh config is a usage error naming the file and field', async () => {
    const mesh = join(dir, 'mesh.yaml');
    writeFileSync(mesh, 'trustDomain: corp.example\ndefaultConfig:\n  holdApplicationUntilProxyStarts: true\n');
    const io = fakeIo();
    expect(await kubeInjectCommand(['-f', file, '--meshConfig', mesh], io)).toBe(0);
    const d = parseAllDocuments(io.stdout)[0]!.toJS() as Obj;
    expect(d.spec.template.spec.containers[0].name).toBe('istio-proxy');
    expect(env(proxy(d), 'ISTIO_META_MESH_ID')).toBe('corp.example');
    writeFileSync(mesh, 'defaultConfig:\n  discoveryAddress: nowhere\n');
    await expect(kubeInjectCommand(['-f', file, '--meshConfig', mesh], fakeIo())).rejects.toThrow(`${mesh}: mesh config defaultConfig discoveryAddress: must be host:port, got "nowhere"`);
  });

  it('a bad document: exit 1, the located error on stderr, nothing on stdout', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, MANIFEST.replace('ports: [{containerPort: 8080}]', 'ports: [{containerPort: 15006}]'));
    const io = fakeIo();
    expect(await kubeInjectCommand(['-f', bad], io)).toBe(1);
    expect(io.stdout).toBe('');
    expect(io.stderr).toMatch(/^wasmesh kube-inject: error: .*bad.yaml: document 1 \(line 8\) Deployment default\/web spec.template.spec.containers\[0\].ports\[0\].containerPort: port 15006 is one of the sidecar's own ports/);
  });

  it('usage errors: no -f, a missing file, a bad --discoveryAddress', async () => {
    await expect(kubeInjectCommand([], fakeIo())).rejects.toThrow(UsageError);
    await expect(kubeInjectCommand(['-f', join(dir, 'nope.yaml')], fakeIo())).rejects.toThrow(/cannot read manifest .*nope.yaml: ENOENT/);
    await expect(kubeInjectCommand(['-f', file, '--discoveryAddress', 'x'], fakeIo())).rejects.toThrow(/--discoveryAddress must be host:port/);
  });

  it('--native-sidecars true|false|auto (auto: on for --kube-version >= 1.33, off when unknown), $ENABLE_NATIVE_SIDECARS as the default; bad values are usage errors', async () => {
    const native = async (args: string[]): Promise<boolean> => {
      const io = fakeIo();
      expect(await kubeInjectCommand(['-f', file, ...args], io)).toBe(0);
      const web = parseAllDocuments(io.stdout)[0]!.toJS() as Obj;
      const inits = web.spec.template.spec.initContainers.map((c: Obj) => `${c.name}${c.restartPolicy ? `:${c.restartPolicy}` : ''}`);
      return inits.includes('istio-proxy:Always');
    };
    const saved = process.env.ENABLE_NATIVE_SIDECARS;
    delete process.env.ENABLE_NATIVE_SIDECARS;
    try {
      expect(await native([])).toBe(false);
      expect(await native(['--native-sidecars', 'true'])).toBe(true);
      expect(await native(['--native-sidecars', 'auto', '--kube-version', '1.33'])).toBe(true);
      expect(await native(['--kube-version', 'v1.32.4'])).toBe(false);
      process.env.ENABLE_NATIVE_SIDECARS = 'true';
      expect(await native([])).toBe(true);
      expect(await native(['--native-sidecars', 'false'])).toBe(false);
      process.env.ENABLE_NATIVE_SIDECARS = 'sometimes';
      await expect(kubeInjectCommand(['-f', file], fakeIo())).rejects.toThrow('ENABLE_NATIVE_SIDECARS must be true, false or auto, got "sometimes"');
    } finally {
      if (saved === undefined) delete process.env.ENABLE_NATIVE_SIDECARS;
      else process.env.ENABLE_NATIVE_SIDECARS = saved;
    }
    await expect(kubeInjectCommand(['-f', file, '--native-sidecars', 'yes'], fakeIo())).rejects.toThrow('--native-sidecars must be true, false or auto, got "yes"');
    await expect(kubeInjectCommand(['-f', file, '--kube-version', 'latest'], fakeIo())).rejects.toThrow('--kube-version must be a Kubernetes version such as 1.33, got "latest"');
  });

  it('--help describes the command', async () => {
    const io = fakeIo();
    expect(await kubeInjectCommand(['--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/wasmesh kube-inject/);
    expect(io.stdout).toMatch(/--meshConfig/);
  });
});
