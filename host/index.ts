// The package's public API (`import { … } from 'wasmesh'`).
export {};
export { parseRequestHead, parseResponseHead } from './codec/parse-head.js';
export type { RequestHead, ResponseHead, HeadIncomplete, HeadError, RequestHeadResult, ResponseHeadResult } from './codec/parse-head.js';
// Control side: config over time (hot reload) and the admin API. The CLI and the runtime stay
// out of the barrel so that importing the parser does not load the native uWS listener.
export { ConfigManager, type ConfigDump, type LastError, type ReloadOutcome } from './control/config-manager.js';
export { AdminServer, type AdminSources } from './admin/admin-server.js';
