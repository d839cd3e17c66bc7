// The readable form of an ExplainReport: one section per decision, ✔/✘ per rule, the first
// failing condition of each rule that did not match.
import type { ExplainReport } from './explain-request.js';

const ms = (n: number): string => (n % 1000 === 0 && n > 0 ? `${n / 1000}s` : `${n}ms`);

export function renderExplainText(r: ExplainReport): string {
  const out: string[] = [];
  const q = r.request;
  out.push(`Request   ${q.method} ${q.url}${q.headers.map(([k, v]) => `  ${k}: ${v}`).join('')}`);
  if (q.normalizedPath !== q.path) out.push(`          path normalized to ${q.normalizedPath}`);
  const labels = Object.entries(r.proxy.labels).map(([k, v]) => `${k}=${v}`).join(',');
  out.push(`Proxy     ${r.proxy.kind} ${r.proxy.name} (namespace ${r.proxy.namespace}${labels ? `, labels ${labels}` : ''})`);
  if (r.gatewayAuthorization !== null) {
    const g = r.gatewayAuthorization;
    out.push(`Gateway authorization  ${g.decision === 'ALLOW' ? '✔ ALLOW' : g.decision === 'DENY' ? '✘ DENY (403 before routing)' : 'CUSTOM'}: ${g.reason}`);
  }
  out.push('');
  out.push('Routing');
  if (r.virtualHost === null) out.push('  ✘ no virtual host serves the authority');
  else out.push(`  virtual host ${r.virtualHost.name} (authority ${q.authority})`);
  for (const rule of r.rules) {
    const who = rule.virtualService !== null ? `VirtualService ${rule.virtualService} rule ${rule.rule}` : `default route ${rule.name}`;
    out.push(`  ${rule.matched ? '✔' : '✘'} ${who}`);
    if (rule.blocks.length === 0 && rule.matched) out.push('      no match conditions: matches every request');
    // A matched rule: the blocks up to the one that holds (the matcher stops there).
    const upTo = rule.matched ? rule.blocks.findIndex((b) => b.holds) : rule.blocks.length - 1;
    for (const b of rule.blocks.slice(0, upTo + 1)) {
      const label = b.match >= 0 ? `match[${b.match}]` : 'match';
      out.push(b.holds ? `      ${label}: every condition holds` : `      ${label}: ${b.failed!.why}`);
    }
    for (const o of rule.ruledOut) out.push(`      match[${o.match}]: ${o.why}`);
  }
  out.push(`  → ${r.action.kind === 'route' ? `route ${r.route!.name}` : r.action.detail}`);
  if (r.destinations.length > 0) {
    out.push('');
    out.push('Destinations');
    for (const d of r.destinations) out.push(`  ${d.picked ? '●' : '○'} ${d.host}:${d.port}${d.subset ? ` subset ${d.subset}` : ''}  weight ${d.weight} (${d.percent}%)${d.picked ? '  ← first pick' : ''}`);
  }
  for (const m of r.mirrors) out.push(`  mirror ${m.cluster} (${m.percentage}%)`);
  if (r.endpoint !== null) {
    const e = r.endpoint;
    out.push('');
    out.push('Endpoint');
    out.push(`  cluster ${e.cluster} (${e.endpoints} endpoint${e.endpoints === 1 ? '' : 's'}, ${e.lb})`);
    if (e.address !== null) out.push(`  → ${e.address}${e.labels ? ` ${Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}${e.note ? `  (${e.note})` : ''}`);
    else if (e.note) out.push(`  → ${e.note}`);
    out.push(`  health: ${e.health}`);
    out.push(`  outlier detection: ${e.outlierDetection}`);
  }
  if (r.route !== null && r.action.kind === 'route') {
    out.push('');
    out.push('Policies');
    out.push(`  timeout: ${r.timeoutMs === null ? 'none' : ms(r.timeoutMs)}`);
    if (r.retries !== null) {
      const t = r.retries;
      out.push(`  retries: ${t.attempts === 0 ? 'off' : `${t.attempts} on ${t.retryOn.join(',')}${t.retriableStatusCodes.length ? ` codes ${t.retriableStatusCodes.join(',')}` : ''}${t.perTryTimeoutMs ? `, ${ms(t.perTryTimeoutMs)} per try` : ''}`} (${t.source})`);
    }
    if (r.fault === null) out.push('  fault: none');
    else {
      if (r.fault.delay) out.push(`  fault: delay ${ms(r.fault.delay.fixedDelayMs)} for ${r.fault.delay.percentage}% of requests`);
      if (r.fault.abort) out.push(`  fault: abort ${r.fault.abort.httpStatus} for ${r.fault.abort.percentage}% of requests`);
    }
  }
  if (r.mtls !== null) {
    out.push('');
    out.push('Security');
    out.push(`  mTLS: client ${r.mtls.client}${r.mtls.auto ? ' (auto)' : ''}, server ${r.mtls.server ?? 'unknown'}: ${r.mtls.result}`);
  }
  if (r.authorization !== null) {
    const a = r.authorization;
    out.push(`  authorization: ${a.decision === 'ALLOW' ? '✔ ALLOW' : a.decision === 'DENY' ? '✘ DENY' : 'CUSTOM'}: ${a.reason}${a.principal ? ` (source principal ${a.principal})` : ''}`);
    if (a.shadow) out.push(`  authorization (dry run): ${a.shadow}`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}
