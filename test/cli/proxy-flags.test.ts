// `--labels` parsing and the sub-commands reached through the CLI entry point (`main`).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../host/cli/main.js';
import { parseLabels } from '../../host/cli/proxy-command.js';
import { parseArgs, UsageError } from '../../host/cli/args.js';
import { PROXY_SPEC } from '../../host/cli/proxy-command.js';
import { loadConfig } from '../../host/config/load-config.js';
import type { CliIo } from '../../host/cli/cli-io.js';

function fakeIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    stopRequested: () => new Promise<string>(() => {}),
    onReloadRequest: () => () => {},
    commandDone: () => {},
  };
  return io;
}

describe('--labels', () => {
  it('reads comma-separated key=value pairs, Kubernetes label syntax', () => {
    expect(parseLabels('app=web,version=v1')).toEqual({ app: 'web', version: 'v1' });
    expect(parseLabels(' app.kubernetes.io/name=web , tier= ')).toEqual({ 'app.kubernetes.io/name': 'web', tier: '' });
    expect(parseLabels('')).toEqual({});
  });

  it('refuses what is not a label, naming it', () => {
    for (const bad of ['app', '=web', 'app=we b', 'a b=c', 'app=web,app=api']) {
      expect(() => parseLabels(bad)).toThrow(UsageError);
    }
    expect(() => parseLabels('app=web,version')).toThrow(/"version" is not a key=value label/);
    expect(() => parseLabels('app=web,app=api')).toThrow(/"app" is given twice/);
  });

  it('a bad --labels exits 2 before anything starts', async () => {
    const io = fakeIo();
    const code = await main(['proxy', '-f', 'examples/000-web-demo', '--listen', '127.0.0.1:0', '--labels', 'nonsense'], io);
    expect(code).toBe(2);
    expect(io.stderr).toContain('--labels');
  });
});

describe('wasmesh proxy --help', () => {
  it('gives an example that serves the 80/20 split it describes', async () => {
    const io = fakeIo();
    expect(await main(['proxy', '--help'], io)).toBe(0);
    const help = io.stdout;
    // The example command, its continuation lines joined.
    const command = help.replace(/\\\n\s*/g, '').split('\n').find((l) => l.trim().startsWith('wasmesh proxy '))!;
    const { values } = parseArgs(PROXY_SPEC, command.trim().split(/\s+/).slice(2));
    const loaded = loadConfig(values.file as string[], { gateway: values.gateway as string });
    const weights = loaded.mesh.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => r.destinations.map((d) => `${d.cluster} ${d.weight}`)));
    expect(weights).toEqual(['outbound|5005|v1|web.default.svc.cluster.local 80', 'outbound|5005|v2|web.default.svc.cluster.local 20']);
    expect(help).toMatch(/80% v1 \/ 20% v2/);
  });
});

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
    expect(commands.map((l) => l.trim().split(/\s{2,}/)[0])).toEqual(['proxy', 'sidecar', 'demo', 'envoy-config']);
    // The summaries start in one column.
    expect(new Set(commands.map((l) => l.match(/^ {2}\S+\s+/)![0].length)).size).toBe(1);
  });
});

describe('labels reach the loader', () => {
  it('ConfigManager passes gateway, namespace and labels to every load', async () => {
    const { ConfigManager } = await import('../../host/control/config-manager.js');
    const { loadConfig } = await import('../../host/config/load-config.js');
    const seen: unknown[] = [];
    const m = new ConfigManager({
      sources: ['examples/000-web-demo/00-web-services.yaml'],
      namespace: 'default',
      labels: { app: 'reviews', version: 'v2' },
      target: { apply: () => {} },
      load: (sources, options) => {
        seen.push(options);
        return loadConfig(sources, options);
      },
    });
    m.start();
    m.close();
    expect(seen).toEqual([{ gateway: undefined, namespace: 'default', labels: { app: 'reviews', version: 'v2' } }]);
  });
});
