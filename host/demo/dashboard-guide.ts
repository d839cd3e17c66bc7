// The demo's lines on the dashboard: `wasmesh dashboard` reads Prometheus, which the demo does not
// run (it is a separate program: scripts/install-prometheus.sh), so the demo prints the scrape
// config for its proxies' admin ports (each serves istio_* on /stats/prometheus) and the two
// commands to run, ready to paste.

const PROMETHEUS = '127.0.0.1:9090';
const DASHBOARD = 'http://127.0.0.1:20001/';

/** Prometheus' config scraping `targets` every 2 s, as one line of flow YAML. */
export function demoScrapeConfig(targets: readonly string[]): string {
  return `scrape_configs: [{job_name: wasmesh, scrape_interval: 2s, metrics_path: /stats/prometheus, static_configs: [{targets: [${targets.map((t) => `'${t}'`).join(', ')}]}]}]`;
}

/** `admins`: host:port of every proxy's admin API; `monitoringUrl`: the control plane's. */
export function dashboardGuide(admins: readonly string[], monitoringUrl: string): string[] {
  const file = '/tmp/wasmesh-demo-prometheus.yml';
  return [
    'Live service graph and golden signals (`wasmesh dashboard`, docs/dashboard.md): a Prometheus scraping',
    'every proxy, then the dashboard (Prometheus: scripts/install-prometheus.sh or any prometheus binary):',
    `  echo "${demoScrapeConfig(admins)}" > ${file}`,
    `  prometheus --config.file=${file} --storage.tsdb.path=/tmp/wasmesh-demo-prometheus --web.listen-address=${PROMETHEUS} &`,
    `  npx wasmesh dashboard --prometheus http://${PROMETHEUS} --control-plane ${monitoringUrl.replace(/\/$/, '')}`,
    `and open ${DASHBOARD}`,
  ];
}
