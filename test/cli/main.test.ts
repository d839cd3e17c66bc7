// The `wasmesh` entry point: sub-commands reached through main, and its help.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../host/cli/main.js';
import { fakeIo } from '../helpers/fake-io.js';

describe('wasmesh envoy-config through main', () => {
  it('prints the bootstrap for the demo gateway', async () => {
    const io = fakeIo();
    const code = await main(['envoy-config', '-f', 'examples/000-web-demo/00-web-services.yaml', '-f', 'examples/000-web-demo/02-web-demo-service-gateway.yaml', '-f', 'examples/000-web-demo/03-web-demo-80-20.yaml', '--listen', '127.0.0.1:8081', '--gateway', 'web-gateway'], io);
    expect(code).toBe(0);
    const config = parse(io.stdout);
    const clusters = config.static_resources.clusters.map((c: { name: string }) => c.name);
    expect(clusters).toContain('outbound|5005|v1|web.default.svc.cluster.local');
    expect(clusters).toContain('outbound|5005|v2|web.default.svc.cluster.local');
  });

  it('is listed in the help', async () => {
    const io = fakeIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toContain('envoy-config');
  });

  it('keeps every command name apart from its summary in the help', async () => {
    const io = fakeIo();
    expect(await main(['--help'], io)).toBe(0);
    const commands = io.stdout.split('\n').filter((l) => /^  [a-z]/.test(l));
    expect(commands.map((l) => l.trim().split(/\s{2,}/)[0])).toEqual(['proxy', 'sidecar', 'demo', 'control-plane', 'proxy-status', 'proxy-config', 'envoy-bootstrap', 'grpc-bootstrap', 'token', 'agent', 'explain', 'envoy-config', 'analyze', 'kube-inject', 'install', 'dashboard']);
    // The summaries start in one column.
    expect(new Set(commands.map((l) => l.match(/^ {2}\S+\s+/)![0].length)).size).toBe(1);
  });
});
