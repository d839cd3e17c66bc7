// The proxy's config loader: host/config's loadConfig run in a short-lived child process
// (host/config/load-child.ts), so that the YAML parser and the schemas never load into the
// proxy itself (~9 MiB of resident memory: BENCHMARKS.md, optimisation log). Synchronous, like
// loadConfig: the ConfigManager's start and reload stay as they are; a reload costs the child's
// start-up (~0.2 s) on the control thread.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import type { LoadedConfig, LoadOptions } from '../config/loaded-config.js';
import type { ConfigLoader } from './config-manager.js';
import { packageRoot } from '../core/wasm.js';

/** The compiled child entry: dist/host/config/load-child.js (also when the host runs from TypeScript sources, as in tests). */
function childScript(): string {
  const here = fileURLToPath(new URL('../config/load-child.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = join(packageRoot(), 'dist', 'host', 'config', 'load-child.js');
  if (!existsSync(built)) throw new ConfigLoaderProcessError(`wasmesh: ${built} is missing; run \`npm run build\` first`);
  return built;
}

/** The loader process could not run or did not answer (not a config problem). */
export class ConfigLoaderProcessError extends Error {
  readonly code = 'config_loader_failed' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigLoaderProcessError';
  }
}

interface ChildError {
  name: string;
  message: string;
  code?: string;
  issues?: ConfigIssue[];
}

type ChildOutcome = { ok: LoadedConfig } | { error: ChildError };

/** Loads `sources` as loadConfig does, in a child process; throws what loadConfig would. */
export const isolatedLoadConfig: ConfigLoader = (sources, options) => loadInChild(childScript(), sources, options);

/** @internal (tests) runs `script` as the loader process. */
export function loadInChild(CHILD: string, sources: string[], options: LoadOptions): LoadedConfig {
  const r = spawnSync(process.execPath, [CHILD], {
    input: JSON.stringify({ sources, options }),
    maxBuffer: 1024 * 1024 * 1024,
    timeout: 120_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) throw new ConfigLoaderProcessError(`wasmesh: could not run the config loader (${CHILD}): ${r.error.message}`);
  const stderr = r.stderr?.toString().trim().slice(0, 2000) ?? '';
  if (r.status !== 0 || !r.stdout || r.stdout.length === 0) {
    throw new ConfigLoaderProcessError(`wasmesh: the config loader (${CHILD}) exited with ${r.status ?? r.signal}${stderr ? `: ${stderr}` : ''}`);
  }
  let outcome: ChildOutcome;
  try {
    outcome = deserialize(r.stdout) as ChildOutcome;
  } catch (err) {
    throw new ConfigLoaderProcessError(`wasmesh: the config loader's answer could not be read: ${(err as Error).message}`);
  }
  if ('ok' in outcome) return outcome.ok;
  const e = outcome.error;
  if (e.name === 'ConfigError' && Array.isArray(e.issues)) throw new ConfigError(e.issues);
  const err = new Error(e.message) as Error & { code?: string };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  throw err;
}
