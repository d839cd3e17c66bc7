// Runs a fast-check property that executes Wasm in a worker thread with a deadline per case:
// synchronous Wasm cannot be interrupted on the thread that runs it (vitest's timeout waits
// for it forever), so a case that does not return gets the worker terminated and the test
// failed, naming the seed and path that replay the case.
//
// Use: at the TOP LEVEL of a test file (the worker imports the file, with vitest's describe/test
// as no-ops, and finds the property by name; see wasm-deadline-worker.mjs):
//
//   const corruption = wasmProperty(import.meta.url, 'random corruption', () => {
//     const good = compileRouteTable(...);           // set-up runs in the worker only
//     return [fc.array(...), (edits) => { ... }];     // fc.property's arguments
//   }, { numRuns: 500 });
//   test('property: ...', () => corruption.check());
//   test('seed 460', () => corruption.check({ seed: 460 }));   // a replay, as the report names it
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';

export interface DeadlineOptions {
  /** fast-check's numRuns (default 100). */
  numRuns?: number;
  /** fast-check's seed; a fresh random one when absent (reported on failure). */
  seed?: number;
  /** fast-check's path: replays from that case (with numRuns 1: that case alone). */
  path?: string;
  /** fast-check's examples (structured-cloneable): run first, and counted in numRuns. */
  examples?: unknown[][];
  /**
   * A case (one predicate call) running longer than this fails the test as a hang (default
   * 10 s: cases take milliseconds, but the test machine may be shared and loaded many times over).
   */
  caseDeadlineMs?: number;
  /** Starting the worker, importing the test file and building the property (default 60 s). */
  startDeadlineMs?: number;
}

/** The arguments of fc.property: arbitraries, then the predicate. */
export type PropertyArgs<Ts extends [unknown, ...unknown[]]> = [
  ...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => boolean | void,
];

/** fc.property's arguments, and a check run in the worker after every case passed (e.g. on counts the cases kept). */
export interface PropertyWithAfter<Ts extends [unknown, ...unknown[]]> {
  args: PropertyArgs<Ts>;
  after: () => void;
}

export interface WasmProperty {
  readonly name: string;
  /** Runs the property in the file's worker (a new one after a hang); rejects with fast-check's report, or on a hang. */
  check(options?: DeadlineOptions): Promise<void>;
}

interface Entry {
  build: () => unknown[] | { args: unknown[]; after: () => void };
}

const registry = new Map<string, Entry>();

const WORKER = new URL('./wasm-deadline-worker.mjs', import.meta.url);

// Progress shared with the worker: [0] cases started, [1] the case that failed first (0: none),
// [2] byte length of the current case's text, [3] 1 when that text was cut; text after 16 bytes.
const CASES = 0;
const FIRST_FAILURE = 1;
const TEXT_LENGTH = 2;
const TEXT_CUT = 3;
const TEXT_AT = 16;
const TEXT_BYTES = 16 * 1024;
const POLL_MS = 50;

/** Declares a property run by `check()` in a worker; `file` is the caller's import.meta.url. */
export function wasmProperty<Ts extends [unknown, ...unknown[]]>(
  file: string,
  name: string,
  build: () => PropertyArgs<Ts> | PropertyWithAfter<Ts>,
  defaults: DeadlineOptions = {},
): WasmProperty {
  // The worker finds the property by name after importing `file`: names must be unique in it.
  const key = `${file}#${name}`;
  if (registry.has(key)) throw new Error(`wasmProperty "${name}" is declared twice in ${file}`);
  registry.set(key, { build: build as Entry['build'] });
  return { name, check: (options = {}) => runInWorker(file, name, { ...defaults, ...options }) };
}

// The worker of the file whose property ran last, idle: the next check() of the same file
// reuses it (importing the file and TypeScript once per file, not per property). A worker
// that hung or died is never reused.
let idle: { file: string; worker: Worker } | null = null;

function workerFor(file: string): Worker {
  if (idle?.file === file) {
    const w = idle.worker;
    idle = null;
    return w;
  }
  if (idle) void idle.worker.terminate();
  idle = null;
  const w = new Worker(WORKER, {
    workerData: { file },
    // Not vitest's flags: the worker is a plain Node thread that loads TypeScript itself.
    execArgv: ['--enable-source-maps'],
  });
  // An idle worker must not keep the test process alive; a run's poll timer does meanwhile.
  w.unref();
  return w;
}

function runInWorker(file: string, name: string, o: DeadlineOptions): Promise<void> {
  const seed = o.seed ?? (Math.random() * 0x7fffffff) | 0;
  const numRuns = o.numRuns ?? 100;
  const caseDeadlineMs = o.caseDeadlineMs ?? 10_000;
  const startDeadlineMs = o.startDeadlineMs ?? 60_000;
  const progress = new SharedArrayBuffer(TEXT_AT + TEXT_BYTES);
  const state = new Int32Array(progress, 0, 4);
  const worker = workerFor(file);
  const where = `${name} (${file.replace(/^.*\/test\//, 'test/')})`;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let seen = 0;
    let since = performance.now();
    const onMessage = (m: { failure: string | null }): void => {
      // The worker answered: it is sound, whatever the verdict, and can run the next property.
      finish(m.failure === null ? null : new Error(`${where} (seed ${seed}): ${m.failure}`), true);
    };
    const onError = (e: unknown): void => finish(e instanceof Error ? e : new Error(String(e)), false);
    const onExit = (code: number): void => finish(new Error(`${where}: the worker exited (code ${code}) before reporting`), false);
    const finish = (error: Error | null, reusable: boolean): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (reusable && idle === null) idle = { file, worker };
      else void worker.terminate();
      if (error) reject(error);
      else resolve();
    };
    const timer = setInterval(() => {
      const cases = Atomics.load(state, CASES);
      const now = performance.now();
      if (cases !== seen) {
        seen = cases;
        since = now;
        return;
      }
      const limit = cases === 0 ? startDeadlineMs : caseDeadlineMs;
      if (now - since <= limit) return;
      // terminate() stops the worker even inside a Wasm loop (V8 checks for termination at
      // loop back edges); the case text is complete once the counter moved past it.
      finish(cases === 0
        ? new Error(`${where}: the worker did not start the property within ${startDeadlineMs} ms`)
        : new Error(hangReport(where, seed, o.path, cases, Atomics.load(state, FIRST_FAILURE), caseDeadlineMs, caseText(progress))), false);
    }, POLL_MS);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage({ name, seed, numRuns, path: o.path, examples: o.examples, progress });
  });
}

function caseText(progress: SharedArrayBuffer): string {
  const state = new Int32Array(progress, 0, 4);
  const text = new TextDecoder().decode(new Uint8Array(progress, TEXT_AT, Atomics.load(state, TEXT_LENGTH)));
  return Atomics.load(state, TEXT_CUT) === 1 ? `${text}… (cut)` : text;
}

function hangReport(where: string, seed: number, path: string | undefined, cases: number, firstFailure: number, ms: number, text: string): string {
  // Case n (1-based) of a run is path n-1, or n-1 cases after the replayed path.
  const at = path === undefined ? `path "${cases - 1}"` : cases === 1 ? `path "${path}"` : `case ${cases} after path "${path}"`;
  const replay = path === undefined || cases === 1 ? `.check({ seed: ${seed}, path: "${path ?? cases - 1}", numRuns: 1 })` : `.check({ seed: ${seed}, path: "${path}" })`;
  const shrinking = firstFailure > 0 && cases > firstFailure ? `, while shrinking the failure first seen at case ${firstFailure}` : '';
  return `${where}: a case ran past the ${ms} ms deadline (a call that never returns, e.g. a Wasm loop, or one far too slow): seed ${seed}, ${at}${shrinking}. Replay: ${replay}\n  case: ${text}`;
}

/**
 * Worker side (wasm-deadline-worker.mjs calls it after importing the test file): runs the
 * named property on this thread, publishing each case before it runs. Returns fast-check's
 * report of a failure, or null.
 */
export function runRegistered(data: { file: string; name: string; seed: number; numRuns: number; path?: string; examples?: unknown[][]; progress: SharedArrayBuffer }): string | null {
  const entry = registry.get(`${data.file}#${data.name}`);
  if (!entry) return `no wasmProperty "${data.name}" at the top level of ${data.file} (declared: ${[...registry.keys()].join(', ') || 'none'})`;
  const built = entry.build();
  const args = Array.isArray(built) ? built : built.args;
  const after = Array.isArray(built) ? null : built.after;
  const predicate = args.pop() as (...v: unknown[]) => boolean | void;
  const state = new Int32Array(data.progress, 0, 4);
  const text = new Uint8Array(data.progress, TEXT_AT, TEXT_BYTES);
  const encoder = new TextEncoder();
  let cases = 0;
  const failed = (): void => {
    if (Atomics.load(state, FIRST_FAILURE) === 0) Atomics.store(state, FIRST_FAILURE, cases);
  };
  const watched = (...values: unknown[]): boolean | void => {
    cases++;
    const s = fc.stringify(values.length === 1 ? values[0] : values);
    const r = encoder.encodeInto(s, text);
    Atomics.store(state, TEXT_LENGTH, r.written);
    Atomics.store(state, TEXT_CUT, r.read < s.length ? 1 : 0);
    Atomics.store(state, CASES, cases);
    try {
      const out = predicate(...values);
      if (out === false) failed();
      return out;
    } catch (e) {
      failed();
      throw e;
    }
  };
  try {
    const property = (fc.property as unknown as (...a: unknown[]) => fc.IProperty<unknown[]>)(...args, watched);
    fc.assert(property, { seed: data.seed, numRuns: data.numRuns, path: data.path, examples: data.examples });
    after?.();
    return null;
  } catch (e) {
    if (!(e instanceof Error)) return String(e);
    // fast-check keeps the predicate's error as the cause; it says what went wrong.
    const cause = e.cause instanceof Error ? `\nGot error: ${e.cause.stack ?? e.cause.message}` : e.cause === undefined ? '' : `\nGot error: ${String(e.cause)}`;
    return e.message + cause;
  }
}
