// Node's built-in HTTP parser (llhttp compiled natively, with Node's C++ binding building the
// method, url and header strings), the parser behind http.createServer, as the second baseline.
// Benchmark glue only. Reached through `_http_common` (what node:http itself uses); the
// deprecated process.binding('http_parser') is the fallback; when neither works the benchmark
// is skipped with a printed note instead of failing the run.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The slice of Node's internal HTTPParser class that the benchmark drives. */
interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(bytes: Uint8Array): number | Error;
  [callback: number]: unknown;
}

interface NodeHttpParserClass {
  new (): NodeHttpParser;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

interface ParserBinding {
  HTTPParser: NodeHttpParserClass;
  methods: string[];
  via: string;
}

function loadBinding(): ParserBinding | string {
  const notes: string[] = [];
  try {
    const common = require('_http_common') as Partial<ParserBinding>;
    if (common.HTTPParser && common.methods) return { HTTPParser: common.HTTPParser, methods: common.methods, via: "require('_http_common').HTTPParser" };
    notes.push("require('_http_common') has no HTTPParser");
  } catch (e) {
    notes.push(`require('_http_common') failed: ${(e as Error).message}`);
  }
  try {
    // process.binding is deprecated (DEP0111) and prints a warning once; only a fallback.
    const binding = (process as unknown as { binding(name: string): Partial<ParserBinding> }).binding('http_parser');
    if (binding.HTTPParser && binding.methods) return { HTTPParser: binding.HTTPParser, methods: binding.methods, via: "process.binding('http_parser').HTTPParser" };
    notes.push("process.binding('http_parser') has no HTTPParser");
  } catch (e) {
    notes.push(`process.binding('http_parser') failed: ${(e as Error).message}`);
  }
  return notes.join('; ');
}

/** What one parse found, in the same shape as the other adapters' check output. */
export interface NodeHead {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
}

/** One Node HTTPParser set up as http.Server sets it up for a connection (request mode, strict). */
export class NodeRequestParser {
  readonly via: string;
  readonly #parser: NodeHttpParser;
  readonly #methods: string[];
  #last: NodeHead | null = null;
  /** Set only by parse(): the timed path builds no check object. */
  #capture = false;
  /** Header strings of the last head; Node delivers them as a flat [name, value, …] array. */
  headerCount = 0;

  /** Returns the parser, or a string explaining why Node's parser cannot be reached. */
  static create(): NodeRequestParser | string {
    const binding = loadBinding();
    return typeof binding === 'string' ? binding : new NodeRequestParser(binding);
  }

  private constructor(binding: ParserBinding) {
    const { HTTPParser } = binding;
    this.via = binding.via;
    this.#methods = binding.methods;
    const parser = new HTTPParser();
    // Node 20's _http_server.js passes (REQUEST, asyncResource, maxHeaderSize, lenient, …);
    // 0 = default max header size (16 KiB), 0 = kLenientNone (strict).
    parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
    // Only called when a head has more than 32 headers or arrives in pieces; kept for safety.
    parser[HTTPParser.kOnHeaders] = (headers: string[]) => {
      this.headerCount += headers.length >>> 1;
    };
    parser[HTTPParser.kOnHeadersComplete] = (
      major: number, minor: number, headers: string[] | undefined, method: number, url: string,
    ) => {
      this.headerCount = headers ? headers.length >>> 1 : this.headerCount;
      if (this.#capture) this.#last = { method: this.#methods[method], target: url, version: `${major}.${minor}`, headers: pairs(headers ?? []) };
      // 1 = skip the body (what Node's own client returns for HEAD): head-only measurement.
      return 1;
    };
    parser[HTTPParser.kOnBody] = () => {};
    parser[HTTPParser.kOnMessageComplete] = () => {};
    this.#parser = parser;
  }

  /** Parses one complete head; returns the bytes consumed, or -1 on a parse error. The hot call. */
  execute(bytes: Uint8Array): number {
    const r = this.#parser.execute(bytes);
    return typeof r === 'number' ? r : -1;
  }

  /** Parses and returns the decoded head: for checking the glue, not for timing. */
  parse(bytes: Uint8Array): NodeHead {
    this.#capture = true;
    this.#last = null;
    try {
      const r = this.#parser.execute(bytes);
      if (typeof r !== 'number') throw new Error(`node http parser: ${r.message}`);
    } finally {
      this.#capture = false;
    }
    if (!this.#last) throw new Error('node http parser: no head parsed');
    return this.#last;
  }
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
