// The V8 settings every wasmesh process runs with: bin/wasmesh.js's shebang, docker/entrypoint.sh
// and the end-to-end benchmark start node with exactly these (test/cli/node-flags.test.ts checks).
//
// --max-semi-space-size=1: a young generation of 1 MiB semi-spaces instead of growing to 16 MiB.
// The proxy's garbage is per request and short-lived, so small semi-spaces cost little CPU (a
// scavenge is cheap when almost nothing survives) and keep ~13–22 MiB of RSS off a sidecar
// (BENCHMARKS.md, optimisation log, for the measurements).
export const WASMESH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
