// The wasmesh proxy-wasm module for stock Envoy: one module, two filters selected by Envoy's
// root_id (`wasmesh_router`, `wasmesh_fault`), sharing one VM per worker through vm_id. Built
// from the same assembly/route sources as the core (npm run build:filters).
export * from './abi/exports';
// The abort handler must be part of the program for `--use abort=…` to find it.
import './abi/abort';
import './router/router-filter';
import './fault/fault-filter';
