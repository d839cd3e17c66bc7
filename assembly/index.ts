// The core's entry: everything the host may call. Each area keeps its own barrel.
export { alloc, free, req_view, abi_layout } from './abi';
export * from './codec/index';
export * from './route/index';
export * from './upstream/index';
export * from './balance/index';
export * from './fault/index';
export * from './authz/index';
export * from './ratelimit/index';
export * from './h2/index';
export * from './tls/index';
