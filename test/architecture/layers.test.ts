// The layering rule of host/, checked on every import (read with TypeScript's parser): a file
// imports its own folder and lower ranks only, never a higher rank nor another folder of its own
// rank; every file has a rank; and no import cycle runs anywhere under host/. On failure each
// offending import is printed as `file → imported file`.
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from '../helpers/import-graph.js';

/**
 * The ranks, top to bottom. Entries are paths under host/ (the longest that matches a file
 * wins: `http/filters` before `http`). Folders that share a rank are independent of each other.
 */
const LAYERS: ReadonlyArray<{ readonly folders: readonly string[]; readonly why: string }> = [
  { folders: ['cli', 'index.ts'], why: 'entry points: the wasmesh commands and the package API; nothing imports them' },
  { folders: ['demo'], why: 'seed scenarios and their apps, which start runtimes as a user would' },
  { folders: ['runtime'], why: 'the composition roots: assemble server, control, admin and sidecar pieces into a process' },
  { folders: ['admin', 'control', 'sidecar', 'envoy'], why: 'the control shell\'s parts, wired only by the runtime (or the CLI): admin API, hot reload, sidecar pieces, Envoy translation' },
  { folders: ['server', 'config'], why: 'server builds the data path per config version; config (Istio YAML) stands beside it, never under it: the proxy process loads no yaml/zod' },
  { folders: ['router', 'http/filters'], why: 'what runs on a stream: the router (terminal filter) and the native HTTP filters' },
  { folders: ['http'], why: 'the HTTP connection manager, streams and the filter seam' },
  { folders: ['listener', 'upstream', 'codec'], why: 'I/O on either side of the proxy, and the public head parser, over the core' },
  { folders: ['compile'], why: 'the mesh as the core\'s binary tables, written in the core\'s record formats' },
  { folders: ['core', 'telemetry'], why: 'the only TypeScript that touches Wasm memory; stats, access-log records and status snapshots' },
  { folders: ['model', 'common'], why: 'plain data below everything: the resolved mesh, shared value types' },
];

/**
 * Folder imports that break the table today, left to the helper moving core/config/model/compile
 * (issue 9): core and compile read config/duration.ts, model/mesh.ts takes types from
 * compile/hash-lb.ts and core/upstream-policy.ts, core/hash-balancer.ts reads compile/hash-lb.ts.
 * Whole folders, so that moves inside them do not matter; each must still occur, and the test
 * says when one can go.
 */
const PENDING: ReadonlyArray<readonly [from: string, to: string]> = [
  ['compile', 'config'],
  ['core', 'config'],
  ['core', 'compile'],
  ['model', 'compile'],
  ['model', 'core'],
];

const GRAPH = importGraph('host');

const PLACES = LAYERS.flatMap((layer, i) => layer.folders.map((folder) => ({ folder, rank: LAYERS.length - i })))
  .sort((a, b) => b.folder.length - a.folder.length);

/** The table entry a file falls under, or null. */
function placeOf(file: string): { folder: string; rank: number } | null {
  const path = file.slice('host/'.length);
  return PLACES.find((p) => path === p.folder || path.startsWith(p.folder + '/')) ?? null;
}

interface Violation {
  line: string;
  from: string;
  to: string;
}

function violations(): Violation[] {
  const out: Violation[] = [];
  for (const [file, imports] of GRAPH) {
    const from = placeOf(file);
    if (!from) continue;
    for (const { target } of imports) {
      const to = placeOf(target);
      if (!to || to.folder === from.folder || to.rank < from.rank) continue;
      const how = to.rank === from.rank ? 'same rank' : 'upward';
      out.push({ line: `${file} → ${target} (${from.folder} → ${to.folder}: ${how})`, from: from.folder, to: to.folder });
    }
  }
  return out;
}

const isPending = (v: Violation) => PENDING.some(([from, to]) => v.from === from && v.to === to);

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
    const offending = violations().filter((v) => !isPending(v)).map((v) => v.line);
    expect(offending, `imports against the layer table:\n  ${offending.join('\n  ')}\n`).toEqual([]);
  });

  it('each pending exception is still needed', () => {
    const seen = violations().filter(isPending);
    const stale = PENDING.filter(([from, to]) => !seen.some((v) => v.from === from && v.to === to)).map(([from, to]) => `${from} → ${to}`);
    expect(stale, 'no import needs these any more: delete them from PENDING').toEqual([]);
  });

  it('no import cycle anywhere under host/', () => {
    const cycles = importCycles(GRAPH);
    expect(cycles, `import cycles:\n  ${cycles.join('\n  ')}\n`).toEqual([]);
  });
});
