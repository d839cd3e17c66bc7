// The worker thread of wasm-deadline.ts: teaches Node to load the TypeScript test sources
// (ts-loader-hooks.mjs), imports the test file that declared the property (its vitest
// describe/test calls are no-ops here), runs the property and reports fast-check's verdict.
// The parent watches the shared progress counter and terminates this thread on a hang.
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

register('./ts-loader-hooks.mjs', import.meta.url);

let failure;
try {
  // The same URL the test file's `../helpers/wasm-deadline.js` resolves to: one registry.
  const { runRegistered } = await import(new URL('./wasm-deadline.ts', import.meta.url).href);
  await import(workerData.file);
  failure = runRegistered(workerData);
} catch (e) {
  failure = `the worker could not run the property: ${e instanceof Error ? e.stack : String(e)}`;
}
parentPort.postMessage({ failure });
