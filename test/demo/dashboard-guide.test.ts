// The demo's dashboard lines: the scrape config it prints is valid Prometheus YAML for exactly the
// proxies' admin ports, and the commands name the control plane's monitoring URL.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboardGuide, demoScrapeConfig } from '../../host/demo/dashboard-guide.js';

describe('dashboardGuide', () => {
  it('prints a scrape config for every admin port and the dashboard command', () => {
    const lines = dashboardGuide(['127.0.0.1:15000', '127.0.0.1:40001'], 'http://127.0.0.1:15014/');
    const echo = lines.find((l) => l.trimStart().startsWith('echo '))!;
    const yamlText = /^ {2}echo "(.*)" > \/tmp\/wasmesh-demo-prometheus\.yml$/.exec(echo)![1]!;
    expect(yamlText).toBe(demoScrapeConfig(['127.0.0.1:15000', '127.0.0.1:40001']));
    expect(parse(yamlText)).toEqual({
      scrape_configs: [{ job_name: 'wasmesh', scrape_interval: '2s', metrics_path: '/stats/prometheus', static_configs: [{ targets: ['127.0.0.1:15000', '127.0.0.1:40001'] }] }],
    });
    expect(lines).toContain('  npx wasmesh dashboard --prometheus http://127.0.0.1:9090 --control-plane http://127.0.0.1:15014');
    expect(lines.at(-1)).toBe('and open http://127.0.0.1:20001/');
  });
});
