// The package's public API (`import { … } from 'wasmesh'`).
export {};
