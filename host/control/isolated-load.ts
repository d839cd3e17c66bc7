// The proxy's config loader: host/config's loadConfig run in a short-lived child process
// (host/config/load-child.ts), so that the YAML parser and the schemas never load into the
// proxy itself (~9 MiB of resident memory: BENCHMARKS.md, optimisation log). The first load is
// synchronous, like loadConfig (the proxy cannot serve before it); reloads use the asynchronous
// form, so the data path on the main thread keeps serving during the child's ~0.25 s.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import type { LoadedConfig, LoadOptions } from '../config/loaded-config.js';
import type { AsyncConfigLoader, ConfigLoader } from './config-manager.js';
import { compiledEntry, packageRoot } from '../core/wasm.js';

/** The compiled child entry: dist/host/config/load-child.js (also when the host runs from TypeScript sources, as in tests). */
function childScript(): string {
  const script = compiledEntry(new URL('../config/load-child.js', import.meta.url), 'host/config/load-child.js');
  if (script === null) throw new ConfigLoaderProcessError(`wasmesh: ${join(packageRoot(), 'dist', 'host', 'config', 'load-child.js')} is missing; run \`npm run build\` first`);
  return script;
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

/** The same in a child process that does not block the event loop (reloads: the data path on this thread keeps serving). */
export const isolatedLoadConfigAsync: AsyncConfigLoader = (sources, options) => loadInChildAsync(childScript(), sources, options);

const CHILD_TIMEOUT_MS = 120_000;
const CHILD_MAX_OUTPUT = 1024 * 1024 * 1024;

/** @internal (tests) runs `script` as the loader process. */
export function loadInChild(CHILD: string, sources: string[], options: LoadOptions): LoadedConfig {
  const r = spawnSync(process.execPath, [CHILD], {
    input: JSON.stringify({ sources, options }),
    maxBuffer: CHILD_MAX_OUTPUT,
    timeout: CHILD_TIMEOUT_MS,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) throw new ConfigLoaderProcessError(`wasmesh: could not run the config loader (${CHILD}): ${r.error.message}`);
  return decode(CHILD, r.status, r.signal, r.stdout, r.stderr);
}

/** @internal (tests) runs `script` as the loader process, asynchronously. */
export function loadInChildAsync(CHILD: string, sources: string[], options: LoadOptions): Promise<LoadedConfig> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let failure: Error | null = null;
    const timer = setTimeout(() => {
      failure = new ConfigLoaderProcessError(`wasmesh: the config loader (${CHILD}) took more than ${CHILD_TIMEOUT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > CHILD_MAX_OUTPUT) {
        failure = new ConfigLoaderProcessError(`wasmesh: the config loader (${CHILD}) answered more than ${CHILD_MAX_OUTPUT} bytes`);
        child.kill('SIGKILL');
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => {
      failure ??= new ConfigLoaderProcessError(`wasmesh: could not run the config loader (${CHILD}): ${e.message}`);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      try {
        resolve(decode(CHILD, status, signal, Buffer.concat(out), Buffer.concat(err)));
      } catch (e) {
        reject(e);
      }
    });
    // A child that dies before reading its input makes this write fail (EPIPE): 'close' reports it.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify({ sources, options }));
  });
}

/** The child's answer: the config, or what loadConfig threw, or why the child failed. */
function decode(CHILD: string, status: number | null, signal: NodeJS.Signals | null, stdout: Buffer | null, stderrBytes: Buffer | null): LoadedConfig {
  const stderr = stderrBytes?.toString().trim().slice(0, 2000) ?? '';
  if (status !== 0 || !stdout || stdout.length === 0) {
    throw new ConfigLoaderProcessError(`wasmesh: the config loader (${CHILD}) exited with ${status ?? signal}${stderr ? `: ${stderr}` : ''}`);
  }
  let outcome: ChildOutcome;
  try {
    outcome = deserialize(stdout) as ChildOutcome;
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
