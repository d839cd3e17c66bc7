// The process's (or worker thread's) one AccessLogFiles: every server of a sidecar or gateway
// writes a path through the same buffered writer, so lines of its listeners are not interleaved
// mid-batch and a file is opened once. The first server to ask gives the error log.
import type { Log } from '../common/log.js';
import { AccessLogFiles } from './access-log-files.js';

let shared: AccessLogFiles | null = null;

export function sharedAccessLogFiles(log: Log | undefined): AccessLogFiles {
  shared ??= new AccessLogFiles((path, error) => log?.('error', `access log ${path}: ${error.message}; its lines are dropped`));
  return shared;
}
