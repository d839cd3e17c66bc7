// The wasmesh_stats proxy-wasm module: Istio's standard metrics inside stock Envoy (the HTTP
// filter, root_id `wasmesh_stats`, and the TCP network filter, root_id `wasmesh_tcp_stats`; its
// own vm_id). A module of its own, built from the same ABI layer as
// wasmesh-filters.ts, because it needs the response and log callbacks the router does not: in
// one module Envoy would call them for the router's streams too.
export * from './abi/exports';
export * from './abi/exports-stream-end';
// The abort handler must be part of the program for `--use abort=…` to find it.
import './abi/abort';
import './stats/stats-filter';
// The TCP metrics' network filter (root_id `wasmesh_tcp_stats`) and its callbacks.
export * from './abi/exports-network';
import './stats/tcp-stats-filter';
