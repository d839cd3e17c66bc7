// What `wasmesh analyze` analyzes: the files named (folders walked recursively, as istioctl
// does), read by the config loader's own steps — yaml-source.ts parses, read-resource.ts sorts and
// validates each document — so a schema problem is the loader's located ConfigIssue (reported as
// IST0106). Beside the Istio resources it keeps the Kubernetes Services, Pods and Secrets of the files
// (the loader skips them), because Istio's analyzers look hosts up in Services and gateway
// workloads up in Pods; and, as istioctl does for files-only analysis, it adds Istio's default
// ingress gateway Pod and Service so that Gateways selecting `istio: ingressgateway` have a
// workload (pkg/config/analysis/local/defaults.go).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ConfigIssue } from '../config-error.js';
import { readResource } from '../read-resource.js';
import { listSourceFiles, parseYamlText, readSourceText, type PathSegment, type YamlDocument } from '../yaml-source.js';
import type { MessageOrigin } from './message.js';

/** One resource as the analyzers see it: its identity, where it is written, its spec. */
export interface AnalysisResource {
  kind: string;
  namespace: string;
  name: string;
  /** The validated spec for Istio kinds (Istio's JSON field names); the raw spec for Services and Pods. */
  spec: unknown;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  origin: MessageOrigin;
  /**
   * The line of the field at `path` (from the document root: `['spec', 'gateways', 0]`) when that
   * field is written, else null: Istio reports a field's line only when its field map has the
   * field, and the document's line otherwise.
   */
  fieldLine(path: readonly PathSegment[]): number | null;
}

export interface AnalysisInput {
  /** The resources in effect (a later definition of kind/namespace/name replaces the earlier). */
  resources: AnalysisResource[];
  /**
   * Istio resources refused by the schema (reported as IST0106), with their spec as written,
   * unvalidated: Istio's other analyzers still see such a resource, so an analyzer that only
   * needs a name or host from it (does this Gateway exist, which subsets does this rule define)
   * looks here rather than report a second, consequential error.
   */
  invalid: AnalysisResource[];
  /** Problems of documents that were read as resources (IST0106). */
  schemaIssues: ConfigIssue[];
  /** Files or documents that could not be read as resources at all (istioctl's "Error(s) adding files"). */
  parseErrors: ConfigIssue[];
  /** Every file read, in order. */
  files: string[];
}

export interface AnalysisInputOptions {
  /** Namespace of resources without metadata.namespace. */
  namespace: string;
  /** Istio's own namespace, where the default ingress gateway runs. */
  istioNamespace?: string;
  /** Called after each file is read (progress). */
  onFile?: (done: number, total: number) => void;
  /** The text of `-` (standard input); read from file descriptor 0 when absent. */
  stdin?: () => string;
}

/** `-`: the documents on standard input, as istioctl reads them. */
export const STDIN = '-';

/** The extensions istioctl analyze reads. */
export const FILE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/**
 * Files under `sources`: a file as given, a folder walked recursively in lexical order (istioctl
 * walks with filepath.Walk), `-` for standard input; paths with other extensions are returned in
 * `skipped`.
 */
export function gatherFiles(sources: readonly string[]): { files: string[]; skipped: string[]; missing: string[] } {
  const files: string[] = [];
  const skipped: string[] = [];
  const missing: string[] = [];
  const take = (path: string): void => {
    if ((FILE_EXTENSIONS as readonly string[]).includes(extname(path))) files.push(path);
    else skipped.push(path);
  };
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) take(path);
    }
  };
  for (const source of sources) {
    if (source === STDIN) {
      files.push(STDIN);
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(source).isDirectory();
    } catch {
      missing.push(source);
      continue;
    }
    if (isDir) walk(source);
    else take(source);
  }
  return { files, skipped, missing };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const stringMap = (v: unknown): Record<string, string> => {
  if (!isRecord(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

/** Proto JSON name of a key (`mirror_percent` → `mirrorPercent`), as yaml-source.ts matches keys. */
const jsonName = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Whether `path` names a field written in the document (keys in either proto or JSON spelling). */
function written(value: unknown, path: readonly PathSegment[]): boolean {
  let node = value;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(node) || segment >= node.length) return false;
      node = node[segment];
    } else {
      if (!isRecord(node)) return false;
      const key = Object.keys(node).find((k) => k === segment || jsonName(k) === segment);
      if (key === undefined) return false;
      node = node[key];
    }
  }
  return true;
}

function resourceOf(source: YamlDocument, kind: string, namespace: string, name: string, spec: unknown): AnalysisResource {
  const meta = isRecord(source.value) ? source.value['metadata'] : undefined;
  return {
    kind,
    namespace,
    name,
    spec,
    labels: stringMap(isRecord(meta) ? meta['labels'] : undefined),
    annotations: stringMap(isRecord(meta) ? meta['annotations'] : undefined),
    origin: { kind, namespace, name, file: source.file, line: source.line },
    fieldLine: (path) => (written(source.value, path) ? source.lineOf(path) : null),
  };
}

/** The Kubernetes kinds Istio's analyzers read that wasmesh's loader skips (a Secret's `data` is kept as its spec). */
const KUBERNETES_READ = new Set(['Service', 'Pod', 'Secret']);

/** A core/v1 Service, Pod or Secret document, read leniently (analyze, as the loader, does not validate Kubernetes kinds). */
function kubernetesResource(source: YamlDocument, defaultNamespace: string): AnalysisResource | null {
  const doc = source.value;
  if (!isRecord(doc) || doc['apiVersion'] !== 'v1' || typeof doc['kind'] !== 'string' || !KUBERNETES_READ.has(doc['kind'])) return null;
  const meta = doc['metadata'];
  if (!isRecord(meta) || typeof meta['name'] !== 'string') return null;
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : defaultNamespace;
  const spec = doc['kind'] === 'Secret' ? { data: isRecord(doc['data']) ? doc['data'] : {} } : isRecord(doc['spec']) ? doc['spec'] : {};
  return resourceOf(source, doc['kind'], namespace, meta['name'], spec);
}

/** Istio's files-only defaults: the ingress gateway Pod and Service (local/defaults.go). */
function defaultIngress(namespace: string): AnalysisResource[] {
  const origin = (kind: string, name: string): MessageOrigin => ({ kind, namespace, name, file: 'internal-ingress', line: 0 });
  const fixed = (kind: string, name: string, labels: Record<string, string>, spec: unknown): AnalysisResource => ({
    kind, namespace, name, spec, labels, annotations: {}, origin: origin(kind, name), fieldLine: () => null,
  });
  const port = (name: string, port: number) => ({ name, port, protocol: 'TCP', targetPort: port });
  return [
    fixed('Pod', 'istio-ingressgateway-dummypod', { istio: 'ingressgateway' }, {}),
    fixed('Service', 'istio-ingressgateway', {}, {
      ports: [port('http2', 80), port('https', 443), port('tcp', 31400), port('tls', 15443)],
      selector: { istio: 'ingressgateway' },
    }),
  ];
}

const PARSE_ERROR_CODES = new Set(['yaml_syntax', 'unreadable_source']);

/** Reads `files` (from gatherFiles) into the analysis input. */
export function readAnalysisInput(files: readonly string[], options: AnalysisInputOptions): AnalysisInput {
  const issues: ConfigIssue[] = [];
  const onDisk = files.filter((f) => f !== STDIN);
  const listed = [...(files.includes(STDIN) ? [STDIN] : []), ...listSourceFiles(onDisk, issues)]; // a file named twice is read once
  const loaded: AnalysisResource[] = [];
  const invalid: AnalysisResource[] = [];
  listed.forEach((file, i) => {
    const text = file === STDIN ? (options.stdin ?? (() => readFileSync(0, 'utf8')))() : readSourceText(file, issues);
    if (text !== null) {
      const warnings: string[] = [];
      for (const doc of parseYamlText(file, text, issues)) {
        const read = readResource(doc, options.namespace, issues, warnings);
        if (read.status === 'ok') {
          const r = read.value.resource;
          loaded.push(resourceOf(doc, r.kind, r.namespace, r.name, r.spec));
        } else if (read.status === 'invalid' && read.kind !== null && read.name !== null) {
          const raw = isRecord(doc.value) ? doc.value['spec'] : undefined;
          invalid.push(resourceOf(doc, read.kind, read.namespace ?? options.namespace, read.name, isRecord(raw) ? raw : {}));
        } else if (read.status === 'skipped' || read.status === 'kube') {
          const k = kubernetesResource(doc, options.namespace);
          if (k !== null) loaded.push(k);
        }
      }
    }
    options.onFile?.(i + 1, listed.length);
  });
  const byKey = new Map<string, AnalysisResource>();
  for (const r of [...defaultIngress(options.istioNamespace ?? 'istio-system'), ...loaded]) {
    const key = `${r.kind} ${r.namespace}/${r.name}`;
    byKey.delete(key); // like `kubectl apply` in file order: the later definition wins, at its own position
    byKey.set(key, r);
  }
  // A document without apiVersion/kind is no resource at all: istioctl cannot add it either.
  const parseError = (i: ConfigIssue): boolean => PARSE_ERROR_CODES.has(i.code) || i.kind === null;
  return {
    resources: [...byKey.values()],
    invalid,
    schemaIssues: issues.filter((i) => !parseError(i)),
    parseErrors: issues.filter(parseError),
    files: listed,
  };
}

/** The resources of one kind. */
export function ofKind(input: AnalysisInput, kind: string): AnalysisResource[] {
  return input.resources.filter((r) => r.kind === kind);
}
