#!/usr/bin/env -S node --max-semi-space-size=1
// The `wasmesh` command: a thin launcher for the compiled CLI in dist/.
import { main } from '../dist/host/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`wasmesh: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
