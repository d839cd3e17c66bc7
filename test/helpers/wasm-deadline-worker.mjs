// The worker thread of wasm-deadline.ts: teaches Node to load the TypeScript test sources
// (ts-loader-hooks.mjs), imports the test file that declared the properties (its vitest
// describe/test calls are no-ops here), then runs each property the parent asks for and
// reports fast-check's verdict. The parent watches the shared progress counter of each run
// and terminates this thread on a hang.
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

register('./ts-loader-hooks.mjs', import.meta.url);

let runRegistered = null;
let loadError = null;
try {
  // The same URL the test file's `../helpers/wasm-deadline.js` resolves to: one registry.
  ({ runRegistered } = await import(new URL('./wasm-deadline.ts', import.meta.url).href));
  await import(workerData.file);
} catch (e) {
  loadError = `the worker could not load ${workerData.file}: ${e instanceof Error ? e.stack : String(e)}`;
}

parentPort.on('message', (run) => {
  let failure = loadError;
  if (failure === null) {
    try {
      failure = runRegistered({ file: workerData.file, ...run });
    } catch (e) {
      failure = `the property could not run: ${e instanceof Error ? e.stack : String(e)}`;
    }
  }
  parentPort.postMessage({ failure });
});
