// The CA's figures on the monitoring port under istiod's names: citadel_server_* counters of CSRs
// signed and refused by cause, and the expiry of the root and of the signing chain (Unix seconds),
// so that an alert on an expiring root reads the same as for Istio.
import type { CaStatName } from '../identity/ca-server.js';
import type { MetricLine } from './xds-metrics.js';

/** What the metrics read from a running CA (host/identity/ca-service.ts). */
export interface CaMetricsSource {
  stats(): Record<CaStatName, number>;
  readonly expiry: { readonly root: Date; readonly certChain: Date };
}

const HELP: Record<CaStatName, string> = {
  csr_count: 'The number of CSRs received by the CA.',
  authentication_failure_count: 'The number of authentication failures (bad or missing token).',
  csr_parsing_err_count: 'The number of CSRs that could not be parsed or whose signature does not verify.',
  id_extraction_err_count: 'The number of tokens whose identity is not a workload identity.',
  csr_sign_err_count: 'The number of CSRs refused at signing (identity mismatch, lifetime above the maximum).',
  success_cert_issuance_count: 'The number of certificates issued.',
};

export function caMetricLines(ca: CaMetricsSource): MetricLine[] {
  const stats = ca.stats();
  const lines: MetricLine[] = (Object.keys(HELP) as CaStatName[]).map((name) => ({ name: `citadel_server_${name}`, help: HELP[name], type: 'counter', value: stats[name] }));
  lines.push(
    { name: 'citadel_server_root_cert_expiry_timestamp', help: 'The Unix time (seconds) at which the earliest root of the trust bundle expires.', type: 'gauge', value: Math.floor(ca.expiry.root.getTime() / 1000) },
    { name: 'citadel_server_cert_chain_expiry_timestamp', help: 'The Unix time (seconds) at which the CA\'s signing chain expires.', type: 'gauge', value: Math.floor(ca.expiry.certChain.getTime() / 1000) },
  );
  return lines;
}
