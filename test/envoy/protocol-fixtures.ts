// Istio YAML for the protocol translation tests (test/envoy/http2-clusters.test.ts,
// tcp-proxy-listeners.test.ts), loaded by the real loader, and the real Envoy's
// `--mode validate` on what the translation writes from it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../host/config/index.js';
import type { LoadedMesh } from '../../host/envoy/bootstrap.js';

/** Loads `files` (name → YAML text) as the real loader does, from a temporary folder. */
export function loadYaml(files: Record<string, string>, gateway?: string): LoadedMesh {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-proto-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return loadConfig([dir], { gateway });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `envoy --mode validate` on `yaml`: its verdict and output. */
export async function envoyValidate(envoy: string, yaml: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-validate-'));
  const file = join(dir, 'envoy.yaml');
  writeFileSync(file, yaml);
  try {
    const { stdout, stderr } = await promisify(execFile)(envoy, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 20_000 });
    return { ok: true, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}${err.message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
