// The mesh config `wasmesh install` puts in the `istio` ConfigMap (key `mesh`), as istioctl does:
// Istio's defaults for the fields wasmesh reads, then a MeshConfig file, then `--set
// meshConfig.<path>=<value>` in order (istioctl's path syntax: dots between fields, a value that
// reads as a boolean or number is one, anything else a string). The result is checked by the
// reader the injector uses (injection-settings.ts), so a bad value is refused at install time,
// not by the control plane at start.
import { parse, stringify } from 'yaml';
import { DEFAULT_DISCOVERY_ADDRESS, defaultInjectDefaults, InjectSettingError, meshConfigDefaults, type InjectDefaults } from './injection-settings.js';

/** Istio's `istio` ConfigMap defaults (manifests/charts/istio-control/istio-discovery, values.meshConfig), the fields wasmesh reads. */
export function defaultMeshConfig(): Record<string, unknown> {
  return {
    defaultConfig: { discoveryAddress: DEFAULT_DISCOVERY_ADDRESS },
    rootNamespace: 'istio-system',
    trustDomain: 'cluster.local',
  };
}

/** A mesh config that cannot be used: `where` names the file, the `--set` or the field. */
export class MeshConfigError extends Error {
  constructor(readonly where: string, why: string) {
    super(`${where}: ${why}`);
    this.name = 'MeshConfigError';
  }
}

export interface MeshConfigInput {
  /** A MeshConfig YAML file's text and name (merged over the defaults, field by field). */
  file?: { name: string; text: string };
  /** `meshConfig.<path>=<value>`, applied in order after the file. */
  sets?: readonly string[];
}

export interface MeshConfig {
  readonly mesh: Record<string, unknown>;
  /** The ConfigMap's `mesh` value: the YAML text. */
  readonly text: string;
  /** What the injector makes of it (trust domain, defaultConfig). */
  readonly injectDefaults: InjectDefaults;
}

export function buildMeshConfig(input: MeshConfigInput, image: string): MeshConfig {
  const mesh = defaultMeshConfig();
  if (input.file !== undefined) {
    let doc: unknown;
    try {
      doc = parse(input.file.text);
    } catch (err) {
      throw new MeshConfigError(input.file.name, `not YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (!isObject(doc)) throw new MeshConfigError(input.file.name, 'must be a MeshConfig object (trustDomain, defaultConfig, …)');
      merge(mesh, doc);
    }
  }
  for (const set of input.sets ?? []) applySet(mesh, set);
  const text = stringify(mesh, { lineWidth: 0 });
  let injectDefaults: InjectDefaults;
  try {
    injectDefaults = meshConfigDefaults(text, defaultInjectDefaults(image));
  } catch (err) {
    if (err instanceof InjectSettingError) throw new MeshConfigError(err.where, err.message);
    throw err;
  }
  return { mesh, text, injectDefaults };
}

function applySet(mesh: Record<string, unknown>, set: string): void {
  const eq = set.indexOf('=');
  const where = `--set ${set}`;
  if (eq <= 0) throw new MeshConfigError(where, 'expected meshConfig.<path>=<value>');
  const path = set.slice(0, eq).split('.');
  // istioctl's --set also reaches `values.*` and `components.*` of its IstioOperator; wasmesh's
  // install has only the mesh config to set.
  if (path[0] !== 'meshConfig') throw new MeshConfigError(where, `only meshConfig.<path> can be set (got "${path[0]}")`);
  const fields = path.slice(1);
  if (fields.length === 0 || fields.some((f) => f === '')) throw new MeshConfigError(where, 'expected meshConfig.<field>[.<field>…]=<value>');
  let at = mesh;
  for (const f of fields.slice(0, -1)) {
    const next = at[f];
    if (next === undefined) at[f] = {};
    else if (!isObject(next)) throw new MeshConfigError(where, `${f} is a ${typeof next}, not an object`);
    at = at[f] as Record<string, unknown>;
  }
  at[fields[fields.length - 1]!] = scalar(set.slice(eq + 1));
}

/** istioctl's reading of a --set value: true/false, a number, else the text. */
function scalar(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

function merge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (isObject(cur) && isObject(v)) merge(cur, v);
    else into[k] = v;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
