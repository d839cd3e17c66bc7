// What reading each source file produced — its resources, issues and warnings — kept by the
// file's text, so that a process that reads the same sources again (the control plane, on every
// change) parses and validates only the files whose text changed: a 1,000-service mesh's YAML
// takes over a second to parse and check, and an edit usually touches one small file.
import type { ConfigIssue } from './config-error.js';
import type { ReadResult } from './read-resource.js';

export interface FileRead {
  results: ReadResult[];
  issues: ConfigIssue[];
  warnings: string[];
}

export class ReadCache {
  readonly #files = new Map<string, { text: string; namespace: string; read: FileRead }>();

  /** What `file` produced when it last had this text (read with this default namespace). */
  get(file: string, text: string, namespace: string): FileRead | undefined {
    const e = this.#files.get(file);
    return e !== undefined && e.text === text && e.namespace === namespace ? e.read : undefined;
  }

  set(file: string, text: string, namespace: string, read: FileRead): void {
    this.#files.set(file, { text, namespace, read });
  }

  /** Forgets files no longer among the sources. */
  retain(files: readonly string[]): void {
    const keep = new Set(files);
    for (const f of [...this.#files.keys()]) if (!keep.has(f)) this.#files.delete(f);
  }
}
