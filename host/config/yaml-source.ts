// Reads -f sources into YAML documents that remember where they came from: file, 1-based
// document number and a way to find the line of any field path, so every error can point
// at the exact line an operator has to fix.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { ConfigIssue } from './config-error.js';

export type PathSegment = string | number;

export interface YamlDocument {
  file: string;
  /** 1-based position in the file, counting empty documents. */
  doc: number;
  /** 1-based line where the document's content starts. */
  line: number;
  /** The document as plain data; null for an empty document. */
  value: unknown;
  /** Line where the field at `path` is written (or its nearest existing ancestor). */
  lineOf(path: readonly PathSegment[]): number;
}

function isYamlFile(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/**
 * The files named by `sources`, in order: a file as given; a folder's *.yaml and *.yml files in
 * lexical order of their names, not recursively (like `kubectl apply -f dir`, and so that a
 * folder of numbered files such as examples/000-web-demo applies in its numbering). A file
 * named twice is read once, at its first position.
 */
export function listSourceFiles(sources: readonly string[], issues: ConfigIssue[]): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const abs = resolve(file);
    if (seen.has(abs)) return;
    seen.add(abs);
    files.push(file);
  };
  for (const source of sources) {
    let isDir: boolean;
    try {
      isDir = statSync(source).isDirectory();
    } catch (err) {
      issues.push(sourceIssue(source, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
      continue;
    }
    if (!isDir) {
      add(source);
      continue;
    }
    const names = readdirSync(source, { withFileTypes: true })
      .filter((e) => e.isFile() && isYamlFile(e.name))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (names.length === 0) issues.push(sourceIssue(source, 'folder holds no *.yaml or *.yml file'));
    for (const name of names) add(join(source, name));
  }
  return files;
}

function sourceIssue(file: string, reason: string): ConfigIssue {
  return { code: 'unreadable_source', file, doc: null, line: null, kind: null, name: null, path: '', reason };
}

/** Parses one file into its documents; YAML syntax errors are pushed to `issues`. */
export function readYamlFile(file: string, issues: ConfigIssue[]): YamlDocument[] {
  const text = readSourceText(file, issues);
  return text === null ? [] : parseYamlText(file, text, issues);
}

/** A source file's text, or null (the reason pushed to `issues`). */
export function readSourceText(file: string, issues: ConfigIssue[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    issues.push(sourceIssue(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
    return null;
  }
}

/** Parses the text of `file` into its documents; YAML syntax errors are pushed to `issues`. */
export function parseYamlText(file: string, text: string, issues: ConfigIssue[]): YamlDocument[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const docs: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const out: YamlDocument[] = [];
  docs.forEach((document, index) => {
    const docNo = index + 1;
    const start = document.contents?.range?.[0] ?? document.range[0];
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        issues.push({
          code: 'yaml_syntax',
          file,
          doc: docNo,
          line: error.linePos?.[0]?.line ?? lineAt(error.pos[0]),
          kind: null,
          name: null,
          path: '',
          reason: `YAML syntax error: ${error.message.split('\n')[0]}`,
        });
      }
      return;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (err) {
      issues.push({ code: 'yaml_syntax', file, doc: docNo, line: lineAt(start), kind: null, name: null, path: '', reason: `YAML error: ${(err as Error).message}` });
      return;
    }
    out.push({
      file,
      doc: docNo,
      line: lineAt(start),
      value: value ?? null,
      lineOf: (path) => lineAt(nodeAt(document, path)?.range?.[0] ?? start),
    });
  });
  return out;
}

/** Proto JSON name of a key, so a path in camelCase finds a key written in snake_case. */
function jsonName(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The node at `path`, or the deepest ancestor that exists. A path ending in a map key yields
 * the key node itself, so a field points at its own line even when its value is a block
 * starting on the next one.
 */
function nodeAt(document: Document.Parsed, path: readonly PathSegment[]): Node | null {
  let node: unknown = document.contents;
  let found: Node | null = (node as Node | null) ?? null;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && (String(p.key.value) === String(segment) || jsonName(String(p.key.value)) === segment),
      );
      if (pair === undefined) return found;
      const keyNode = pair.key as Node;
      const valueNode = pair.value as Node | null;
      // The last segment's key: its line is where the field is written, even for a block value.
      if (i === path.length - 1) return keyNode;
      node = valueNode;
      found = valueNode?.range !== undefined ? valueNode : keyNode;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return found;
      node = item;
      found = item as Node;
    } else {
      return found;
    }
  }
  return found;
}
