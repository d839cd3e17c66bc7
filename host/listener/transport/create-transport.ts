// A listener's downstream transport from its configuration (files read now, errors located;
// `workload` is the proxy's workload certificate source, for credential 'workload').
import type { Log } from '../../common/log.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { DownstreamTransportConfig } from '../../tls/tls-settings.js';
import type { WorkloadCertificateSource } from '../../tls/workload-certificate.js';
import type { DownstreamTransport } from './downstream-transport.js';
import { RAW_DOWNSTREAM } from './raw.js';
import { TlsDownstreamTransport } from './tls.js';
import { PermissiveDownstreamTransport } from './permissive.js';

export function createDownstreamTransport(config: DownstreamTransportConfig | undefined, stats: Pick<StatScope<DownstreamStat>, 'inc'>, log?: Log, workload?: WorkloadCertificateSource): DownstreamTransport {
  if (config === undefined || config.kind === 'raw') return RAW_DOWNSTREAM;
  if (config.kind === 'tls') return new TlsDownstreamTransport(config.tls, stats, log, workload);
  return new PermissiveDownstreamTransport(config.tls, stats, log, workload);
}
