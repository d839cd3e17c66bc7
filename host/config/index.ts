// host/config's public surface: load Istio YAML into a LoadedConfig, or one ConfigError.
export { loadConfig, readConfig, resolveConfig, type ReadConfig } from './load-config.js';
export { ReadCache } from './read-cache.js';
export { ConfigError, formatIssue, type ConfigIssue, type ConfigIssueCode } from './config-error.js';
export { DEFAULT_NAMESPACE, type LoadedConfig, type LoadedResource, type LoadOptions } from './loaded-config.js';
export { parseDuration } from '../common/duration.js';
export { expandHost, meshDomains } from './translate/host-name.js';
