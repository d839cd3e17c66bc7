// The request-head parser benchmark: wasmesh's core (numeric path and public API) against
// llhttp as undici runs it and against Node's built-in parser, on the same request heads.
import { createRequire } from 'node:module';
import { LlhttpRequestParser } from './llhttp-parser.js';
import { NodeRequestParser } from './node-parser.js';
import { REQUEST_HEADS, type RequestHeadSample } from './request-heads.js';
import { sink, type BenchCase, type BenchGroup, type BenchSuite, type RatioSpec } from './runner.js';
import { WasmeshParsers } from './wasmesh-parser.js';

export const WASMESH_CORE = 'wasmesh core (numeric)';
export const WASMESH_API = 'wasmesh parseRequestHead';
export const LLHTTP = 'llhttp (undici Wasm)';
export const NODE = 'node http_parser';

/** What a checked parse must agree on, whichever parser produced it. */
interface Decoded {
  method: string;
  target: string;
  headers: Array<[string, string]>;
}

/**
 * Throws unless `got` is a correct parse of `sample`: a parser that silently failed would be
 * timed on its error path and look fast, so every adapter is checked before it is timed.
 */
export function checkParse(who: string, sample: RequestHeadSample, got: Decoded): void {
  const problems: string[] = [];
  if (got.method !== sample.method) problems.push(`method ${JSON.stringify(got.method)}`);
  if (got.target !== sample.target) problems.push(`target ${JSON.stringify(got.target)}`);
  if (got.headers.length !== sample.headerCount) problems.push(`${got.headers.length} headers, expected ${sample.headerCount}`);
  const text = sample.bytes.toString('latin1');
  for (const [name, value] of got.headers) {
    if (!text.toLowerCase().includes(`\r\n${name.toLowerCase()}: ${value.toLowerCase()}\r\n`)) problems.push(`header ${name}: ${value} not in the input`);
  }
  if (problems.length) throw new Error(`bench: ${who} misparsed "${sample.name}": ${problems.join('; ')}`);
}

/** Builds the suite; baselines that cannot run are left out with a note saying why. */
export function parserSuite(): BenchSuite {
  const notes: string[] = [];
  const llhttp = new LlhttpRequestParser();
  notes.push(`llhttp: undici ${undiciVersion()} build, ${llhttp.simd ? 'SIMD' : 'scalar (no Wasm SIMD)'}; callbacks record spans only`);
  const node = NodeRequestParser.create();
  if (typeof node === 'string') notes.push(`node http_parser skipped: ${node}`);
  else notes.push(`node http_parser via ${node.via}`);
  // No fallback for the subject itself: without the core this benchmark means nothing.
  const wasmesh = new WasmeshParsers();

  const groups: BenchGroup[] = REQUEST_HEADS.map((sample) => {
    const bytes = sample.bytes;
    const cases: BenchCase[] = [];
    const ratios: RatioSpec[] = [];
    checkParse(WASMESH_CORE, sample, wasmesh.decodeCore(bytes));
    checkParse(WASMESH_API, sample, wasmesh.decodeApi(bytes));
    cases.push({ name: WASMESH_CORE, fn: () => { sink.value += wasmesh.parseCore(bytes); } });
    cases.push({ name: WASMESH_API, fn: () => { sink.value += wasmesh.parseApi(bytes); } });
    ratios.push({ label: 'core ÷ llhttp', num: WASMESH_CORE, den: LLHTTP });
    ratios.push({ label: 'parseRequestHead ÷ llhttp', num: WASMESH_API, den: LLHTTP });
    checkParse(LLHTTP, sample, llhttp.parse(bytes));
    cases.push({ name: LLHTTP, fn: () => { sink.value += llhttp.execute(bytes) + llhttp.spans[2]; } });
    if (typeof node !== 'string') {
      checkParse(NODE, sample, node.parse(bytes));
      cases.push({ name: NODE, fn: () => { sink.value += node.execute(bytes) + node.headerCount; } });
      ratios.push({ label: 'core ÷ node', num: WASMESH_CORE, den: NODE });
      ratios.push({ label: 'parseRequestHead ÷ node', num: WASMESH_API, den: NODE });
    }
    return { title: `parse · ${sample.name}, ${sample.bytes.length} bytes`, cases, ratios };
  });
  groups[groups.length - 1].notes = notes;
  return {
    title: 'Request-head parser',
    about: [
      'One op = parse one complete request head (copy into Wasm memory included where the parser needs it).',
      `"${WASMESH_CORE}": the HeadParser call the proxy makes, results as numbers (spans) in linear memory.`,
      `"${WASMESH_API}": the public API, returns an object with JS strings (method, target, headers).`,
      `"${LLHTTP}": undici's llhttp Wasm driven like client-h1.js, callbacks record spans (numeric, like the core).`,
      `"${NODE}": Node's native llhttp + C++ binding, builds JS strings (like parseRequestHead).`,
    ].join('\n'),
    groups,
  };
}

/** The undici version whose llhttp build is measured, for the notes. */
function undiciVersion(): string {
  try {
    return (createRequire(import.meta.url)('undici/package.json') as { version: string }).version;
  } catch {
    return '?';
  }
}
