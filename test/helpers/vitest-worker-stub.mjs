// What `vitest` is inside a wasm-deadline worker (see ts-loader-hooks.mjs): everything vitest
// exports (expect above all), except that declaring suites, tests and hooks does nothing, so
// importing a test file there only declares its wasmProperty objects.
export * from 'vitest';

/** Callable, and every property of it and every call result is itself: test.each(t)(n, f), describe.skip(...). */
const noop = new Proxy(function noop() {}, {
  get: () => noop,
  apply: () => noop,
});

export const describe = noop;
export const suite = noop;
export const test = noop;
export const it = noop;
export const bench = noop;
export const beforeAll = noop;
export const afterAll = noop;
export const beforeEach = noop;
export const afterEach = noop;
