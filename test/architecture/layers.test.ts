// The layering rule of host/, checked on every import (read with TypeScript's parser): a file
// imports its own folder and lower ranks only, never a higher rank nor another folder of its own
// rank; every file has a rank; and no import cycle runs anywhere under host/. On failure each
// offending import is printed as `file → imported file`. Below, the narrower rules of the config,
// compile, core, model and common folders.
import { describe, expect, it } from 'vitest';
import { cyclesThrough, importGraph } from '../helpers/import-graph.js';

/**
 * The ranks, top to bottom. Entries are paths under host/ (the longest that matches a file
 * wins: `http/filters` before `http`). Folders that share a rank are independent of each other.
 */
const LAYERS: ReadonlyArray<{ readonly folders: readonly string[]; readonly why: string }> = [
  { folders: ['cli', 'index.ts'], why: 'entry points: the wasmesh commands and the package API; nothing imports them' },
  { folders: ['demo'], why: 'seed scenarios and their apps, which start runtimes as a user would' },
  { folders: ['runtime', 'control-plane', 'agent', 'explain', 'dashboard'], why: 'the composition roots: a proxy process (server, control, admin, sidecar pieces), the control plane (config, Envoy translation, xDS) or the workload agent (certificate client, SDS); the dashboard server (Prometheus and the control plane\'s debug views, over HTTP only)' },
  { folders: ['admin', 'control', 'sidecar', 'envoy', 'kube'], why: 'the control shell\'s parts, wired only by the runtime (or the CLI): admin API, hot reload, sidecar pieces, Envoy translation, Kubernetes (CRDs from the config schemas, list + watch of the API server as a config source)' },
  { folders: ['server', 'config'], why: 'server builds the data path per config version; config (Istio YAML) stands beside it, never under it: the proxy process loads no yaml/zod' },
  { folders: ['router', 'http/filters', 'upstream/ext-authz'], why: 'what runs on a stream: the router (terminal filter), the native HTTP filters, and the ext_authz clients (behind http/ext-authz-check.ts) the authorization filter asks' },
  { folders: ['http'], why: 'the HTTP connection manager, streams and the filter seam' },
  { folders: ['listener', 'upstream', 'codec', 'xds'], why: 'I/O on either side of the proxy, the public head parser over the core, and the xDS protocol (ADS server and client, Envoy\'s protos)' },
  { folders: ['tls'], why: 'TLS settings, certificate files, peer identity (SPIFFE SANs, XFCC) and handshake failure reasons, shared by the listener and upstream transports' },
  { folders: ['compile'], why: 'the mesh as the core\'s binary tables, written in the core\'s record formats' },
  { folders: ['core', 'telemetry'], why: 'the only TypeScript that touches Wasm memory; stats, access-log records and status snapshots' },
  { folders: ['identity'], why: 'workload identity: SPIFFE IDs, the CA, tokens, Istio\'s CSR API and the certificate client; below every user (control plane, runtime, TLS transports), above common' },
  { folders: ['model'], why: 'the resolved mesh and the policy types the data path consumes: plain data' },
  { folders: ['common'], why: 'what every layer shares: value types (host:port, listen errors, durations, limits) and small helpers; imports nothing' },
];

const GRAPH = importGraph('host');

const PLACES = LAYERS.flatMap((layer, i) => layer.folders.map((folder) => ({ folder, rank: LAYERS.length - i })))
  .sort((a, b) => b.folder.length - a.folder.length);

/** The table entry a file falls under, or null. */
function placeOf(file: string): { folder: string; rank: number } | null {
  const path = file.slice('host/'.length);
  return PLACES.find((p) => path === p.folder || path.startsWith(p.folder + '/')) ?? null;
}

/** `file → imported file (from → to: why)` for every import against the table. */
function violations(): string[] {
  const out: string[] = [];
  for (const [file, imports] of GRAPH) {
    const from = placeOf(file);
    if (!from) continue;
    for (const { target } of imports) {
      const to = placeOf(target);
      if (!to || to.folder === from.folder || to.rank < from.rank) continue;
      const how = to.rank === from.rank ? 'same rank' : 'upward';
      out.push(`${file} → ${target} (${from.folder} → ${to.folder}: ${how})`);
    }
  }
  return out;
}

describe('host/ layers', () => {
  it('reads the import graph (the checks below have something to check)', () => {
    expect(GRAPH.size).toBeGreaterThan(100);
    expect(GRAPH.get('host/runtime/proxy-runtime.ts')!.map((i) => i.target)).toContain('host/server/proxy-server.ts');
    // import() and worker scripts count as imports too.
    expect(GRAPH.get('host/cli/main.ts')!.filter((i) => i.kind === 'dynamic').map((i) => i.target)).toContain('host/cli/sidecar-command.ts');
    expect(GRAPH.get('host/control/isolated-load.ts')!.filter((i) => i.kind === 'worker').map((i) => i.target)).toContain('host/config/load-child.ts');
  });

  it('places every file under host/ in a rank', () => {
    expect([...GRAPH.keys()].filter((f) => placeOf(f) === null), 'add their folder to LAYERS').toEqual([]);
  });

  it('names each folder once', () => {
    const folders = LAYERS.flatMap((l) => l.folders);
    expect(folders.filter((f, i) => folders.indexOf(f) !== i)).toEqual([]);
  });

  it('imports go downward only: own folder or a lower rank', () => {
    const offending = violations();
    expect(offending, `imports against the layer table:\n  ${offending.join('\n  ')}\n`).toEqual([]);
  });

  it('no import cycle anywhere under host/', () => {
    const cycles = cyclesThrough(GRAPH, ['host/']);
    expect(cycles, `import cycles:\n  ${cycles.join('\n  ')}\n`).toEqual([]);
  });
});

// The configuration, model and core layers in more detail (type-only imports count: a type cycle
// is still a cycle of concepts): config (reading, checks, translate/) → compile → core
// (bindings) → model → common. host/model holds the types everyone shares and imports only
// host/common; host/core is bindings only (no Istio, no compile step); host/compile never reads
// Istio; nothing in these folders reaches the data path; and no import cycle runs through any.
const CORE_LAYERS = ['host/config/', 'host/compile/', 'host/core/', 'host/model/', 'host/common/'];

/** The folder under host/ of a repository path (`host/config/translate/x.ts` → `config`). */
const folderOf = (path: string): string => path.split('/')[1]!;

/** `file → target` for every import from files under `from` to a folder outside `allowed`. */
function importsOutside(from: string, allowed: readonly string[]): string[] {
  return [...GRAPH].filter(([f]) => f.startsWith(from)).flatMap(([f, imports]) =>
    imports.filter((i) => !allowed.includes(folderOf(i.target))).map((i) => `${f} → ${i.target}`));
}

describe('config, compile, core, model, common: narrower than their ranks', () => {
  it('reads the import graph (the checks below have something to check)', () => {
    const targets = (f: string) => GRAPH.get(f)!.map((i) => i.target);
    expect(targets('host/model/mesh.ts')).toContain('host/model/retry-policy.ts');
    expect(targets('host/compile/retry-policies.ts')).toContain('host/core/upstream/retry.ts');
    expect(targets('host/config/load-config.ts')).toContain('host/config/translate/resolve-mesh.ts');
  });

  it('host/model imports only host/model and host/common', () => {
    expect(importsOutside('host/model/', ['model', 'common'])).toEqual([]);
  });

  it('host/core (bindings) imports only host/core, host/model and host/common: no Istio translation, no compile step', () => {
    expect(importsOutside('host/core/', ['core', 'model', 'common'])).toEqual([]);
  });

  it('host/compile never reads Istio (no host/config) nor reaches the data path', () => {
    expect(importsOutside('host/compile/', ['compile', 'core', 'model', 'common'])).toEqual([]);
  });

  it('host/config imports no binding and nothing of the data path (only compile for regex checks, model, common)', () => {
    expect(importsOutside('host/config/', ['config', 'compile', 'model', 'common'])).toEqual([]);
  });

  it('host/config reaches compile only through the regex compiler (translation validates regexes, it compiles no table)', () => {
    const uses = [...GRAPH].filter(([f]) => f.startsWith('host/config/')).flatMap(([f, imports]) =>
      imports.filter((i) => i.target.startsWith('host/compile/') && !i.target.startsWith('host/compile/regex/')).map((i) => `${f} → ${i.target}`));
    expect(uses).toEqual([]);
  });

  it('no import cycle runs through host/config, host/compile, host/core, host/model or host/common', () => {
    expect(cyclesThrough(GRAPH, CORE_LAYERS)).toEqual([]);
  });

  it('nor between these folders: each imports only folders below it', () => {
    const folders = CORE_LAYERS.map((l) => folderOf(l));
    const edges = new Set<string>();
    for (const [f, imports] of GRAPH) {
      const from = folderOf(f);
      if (!folders.includes(from)) continue;
      for (const i of imports) if (folderOf(i.target) !== from && folders.includes(folderOf(i.target))) edges.add(`${from} → ${folderOf(i.target)}`);
    }
    // CORE_LAYERS lists the folders top-down: an edge is fine when it points further down the list.
    const upward = [...edges].filter((e) => {
      const [from, to] = e.split(' → ') as [string, string];
      return folders.indexOf(to) < folders.indexOf(from);
    });
    expect(upward).toEqual([]);
  });
});

describe('host/identity: narrower than its rank', () => {
  it('reads the import graph (the check below has something to check)', () => {
    expect(GRAPH.get('host/identity/ca-service.ts')!.map((i) => i.target)).toContain('host/common/host-port.ts');
  });

  it('imports only host/identity and host/common: the CA and the certificate client know nothing of the mesh or the data path', () => {
    expect(importsOutside('host/identity/', ['identity', 'common'])).toEqual([]);
  });
});
