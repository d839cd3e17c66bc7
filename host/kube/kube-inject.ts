// `kube-inject` over a whole manifest: multi-document YAML in, the same documents out, each
// injectable workload (host/kube/pod-template.ts) with its pod injected
// (host/kube/sidecar-injection.ts) and every other document passed through unchanged (comments
// and formatting are not kept). A problem anywhere stops the whole output, located by source,
// document number, line and path, so a half-injected manifest is never applied.
import { isMap, isSeq, parseAllDocuments, stringify, type Document } from 'yaml';
import { isInjectableKind, podTemplateOf, templatePath, TemplateShapeError } from './pod-template.js';
import { injectPod } from './sidecar-injection.js';
import { InjectSettingError, type InjectDefaults } from './injection-settings.js';

export interface KubeInjectResult {
  /** The output manifest: documents joined by `---`. */
  yaml: string;
  /** One line per workload left as it was, saying why (opted out, already injected, …), and per injection warning. */
  notes: string[];
  injected: number;
}

/** A located problem in the input: `source document N (line L) path: why`. */
export class KubeInjectError extends Error {
  constructor(readonly source: string, readonly document: number, readonly path: string, readonly why: string, readonly line?: number) {
    super(`${source}: document ${document}${line === undefined ? '' : ` (line ${line})`}${path === '' ? '' : ` ${path}`}: ${why}`);
    this.name = 'KubeInjectError';
  }
}

export function kubeInject(text: string, source: string, defaults: InjectDefaults): KubeInjectResult {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  if (!Array.isArray(docs)) return { yaml: '', notes: [], injected: 0 };
  const lineOf = lineCounter(text);
  const out: string[] = [];
  const notes: string[] = [];
  let injected = 0;
  docs.forEach((doc, i) => {
    const n = i + 1;
    const bad = doc.errors[0];
    if (bad) throw new KubeInjectError(source, n, '', `not valid YAML: ${bad.message.split('\n')[0]}`, lineOf(bad.pos[0]));
    const obj = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (obj === null || obj === undefined) return;
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      out.push(stringify(obj));
      return;
    }
    const o = obj as Record<string, unknown>;
    const kind = typeof o.kind === 'string' ? o.kind : '';
    if (!isInjectableKind(kind)) {
      out.push(dump(o));
      return;
    }
    const meta = (o.metadata ?? {}) as Record<string, unknown>;
    const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName.replace(/-$/, '') : '';
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    const prefix = templatePath(kind) === '' ? '' : `${templatePath(kind)}.`;
    try {
      if (name === '') throw new TemplateShapeError('metadata.name', `a ${kind} needs a name`);
      const pod = podTemplateOf(kind, o);
      const outcome = injectPod(pod, { apiVersion: String(o.apiVersion ?? 'v1'), kind, name, namespace }, defaults);
      if (outcome.injected) {
        injected++;
        for (const w of outcome.warnings) notes.push(`${source}: document ${n} ${kind} ${namespace}/${name}: warning: ${prefix}${w}`);
      } else notes.push(`${source}: document ${n} ${kind} ${namespace}/${name}: not injected: ${outcome.reason}`);
    } catch (err) {
      if (err instanceof TemplateShapeError || err instanceof InjectSettingError) {
        const path = err instanceof TemplateShapeError ? (err.inPod ? `${prefix}${err.path}` : err.path) : qualify(prefix, err.where);
        throw new KubeInjectError(source, n, `${kind} ${namespace}/${name || '?'} ${path}`, err.message, lineAt(doc, path, lineOf) ?? lineAt(doc, '', lineOf));
      }
      throw err;
    }
    out.push(dump(o));
  });
  return { yaml: out.join('---\n'), notes, injected };
}

/** A path inside the pod template, made a path inside the object (mesh config places stay as they are). */
function qualify(prefix: string, where: string): string {
  return where.startsWith('metadata.') || where.startsWith('spec.') ? `${prefix}${where}` : where;
}

function dump(o: unknown): string {
  return stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 });
}

function lineCounter(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** The line of the deepest node on `path` (`spec.template.metadata.annotations["k"]`, `a[0].b`) that exists. */
function lineAt(doc: Document, path: string, lineOf: (o: number) => number): number | undefined {
  const keys: (string | number)[] = [];
  const re = /([^.[\]"]+)|\["([^"]*)"\]|\[(\d+|\*)\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) keys.push(m[1]);
    else if (m[2] !== undefined) keys.push(m[2]);
    else if (m[3] !== undefined && m[3] !== '*') keys.push(Number(m[3]));
    else break;
  }
  let node: unknown = doc.contents;
  let line: number | undefined = (doc.contents as { range?: number[] } | null)?.range ? lineOf((doc.contents as { range: number[] }).range[0]!) : undefined;
  for (const k of keys) {
    let next: unknown;
    if (isMap(node)) next = node.get(k, true);
    else if (isSeq(node) && typeof k === 'number') next = node.get(k, true);
    else break;
    if (next === undefined) break;
    node = next;
    const r = (next as { range?: number[] }).range;
    if (r) line = lineOf(r[0]!);
  }
  return line;
}
