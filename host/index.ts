// The package's public API (`import { … } from 'wasmesh'`).
export {};
export { parseRequestHead, parseResponseHead } from './codec/parse-head.js';
export type { RequestHead, ResponseHead, HeadIncomplete, HeadError, RequestHeadResult, ResponseHeadResult } from './codec/parse-head.js';
