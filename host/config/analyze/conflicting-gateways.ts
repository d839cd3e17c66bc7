// Istio's gateway.ConflictingGatewayAnalyzer: two Gateways for the same workload (the same
// selector, or selectors one inside the other that select a common Pod) with a server on the
// same port and a common host under the same bind address conflict — IST0145 on each, naming the
// others (sorted), the selector, the port and the server's hosts. Istio's check records a
// server's hosts into the other Gateway's table as it goes (a Go map shared by reference), so
// its result can depend on map order; here each server is compared with the other Gateways'
// servers as written.
import type { GatewaySpec } from '../istio-schemas.js';
import type { AnalysisInput } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { selectorMatches, selectorString, type Labels } from './label-selector.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

/** Host → bind of one Gateway's servers on one port. */
type HostsBind = Map<string, string>;

/** Istio's parseSelectorFromString: `k=v,k2=v2` back into labels. */
function parseSelector(printed: string): Labels {
  const out: Record<string, string> = {};
  for (const pair of printed.split(',')) {
    const kv = pair.split('=');
    if (kv.length === 2) out[kv[0]!] = kv[1]!;
  }
  return out;
}

export function conflictingGatewayMessages(input: AnalysisInput): AnalysisMessage[] {
  const gateways = ofKind(input, 'Gateway');
  const pods = ofKind(input, 'Pod');
  // `selector~port` → Gateway `ns/name` → its hosts and binds on that port.
  const table = new Map<string, Map<string, HostsBind>>();
  for (const g of gateways) {
    const gw = g.spec as GatewaySpec;
    const sel = selectorString(gw.selector ?? {});
    for (const server of gw.servers) {
      const key = `${sel}~${server.port.number}`;
      const byGateway = table.get(key) ?? new Map<string, HostsBind>();
      table.set(key, byGateway);
      // As Istio: a later server on the same port replaces the Gateway's entry.
      byGateway.set(`${g.namespace}/${g.name}`, new Map(server.hosts.map((h) => [h, server.bind ?? ''])));
    }
  }
  const out: AnalysisMessage[] = [];
  for (const g of gateways) {
    const gw = g.spec as GatewaySpec;
    const own = gw.selector ?? {};
    const sel = selectorString(own);
    const name = `${g.namespace}/${g.name}`;
    const same = [...table.keys()].filter((key) => {
      const other = key.slice(0, key.lastIndexOf('~'));
      if (other === sel) return true;
      if (!other.includes(sel) && !sel.includes(other)) return false;
      const otherSelector = parseSelector(other);
      return pods.some((p) => selectorMatches(own, p.labels) && selectorMatches(otherSelector, p.labels));
    });
    for (const server of gw.servers) {
      const port = String(server.port.number);
      const bind = server.bind ?? '';
      const conflicting: string[] = [];
      for (const key of same) {
        if (key.slice(key.lastIndexOf('~') + 1) !== port) continue;
        for (const [other, hosts] of table.get(key)!) {
          if (other !== name && server.hosts.some((h) => hosts.get(h) === bind)) conflicting.push(other);
        }
      }
      if (conflicting.length > 0) out.push(message(MESSAGES.ConflictingGateways, g.origin, null, conflicting.sort().join(','), sel, port, server.hosts.join(',')));
    }
  }
  return out;
}
