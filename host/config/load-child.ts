// The config loader's own process (started by host/control/isolated-load.ts): reads
// `{ sources, options }` as JSON on stdin, loads the Istio YAML with loadConfig, and writes the
// outcome to stdout with v8.serialize: `{ ok: LoadedConfig }`, or `{ error: { name, message,
// code, issues } }` for a refused config (exit 0 either way: only a crash exits otherwise).
//
// Why a process: the YAML parser and the schemas (yaml, zod, host/config) take ~9 MiB of a
// proxy's resident memory once loaded, and a module cannot be unloaded; here they live only
// while a config is read.
import { readFileSync } from 'node:fs';
import { serialize } from 'node:v8';
import { loadConfig } from './load-config.js';
import type { LoadOptions } from './loaded-config.js';

interface LoadRequest {
  sources: string[];
  options: LoadOptions;
}

const request = JSON.parse(readFileSync(0, 'utf8')) as LoadRequest;
let outcome: unknown;
try {
  outcome = { ok: loadConfig(request.sources, request.options) };
} catch (err) {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; issues?: unknown };
  outcome = {
    error: {
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: typeof e?.message === 'string' ? e.message : String(err),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(Array.isArray(e?.issues) ? { issues: e.issues } : {}),
    },
  };
}
process.stdout.write(serialize(outcome));
