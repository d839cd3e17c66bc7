// The tab writer against istioctl's own expected outputs (its testdata clustersummary.txt and
// listenersummary.txt, written by Go's text/tabwriter with padding 5), and its rules: cells
// padded to the widest plus padding, the last cell of a line as it is, empty cells padded too.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tabWrite } from '../../../host/cli/proxy-config/tab-writer.js';

describe('tabWrite', () => {
  it('lays out istioctl\'s cluster and listener summaries byte for byte', () => {
    expect(tabWrite([
      ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'],
      ['istio-policy.istio-system.svc.cluster.local', '15004', '-', 'outbound', 'EDS'],
      ['xds-grpc', '-', '-', '-', 'STRICT_DNS'],
    ], 5)).toBe(
      'SERVICE FQDN                                    PORT      SUBSET     DIRECTION     TYPE\n' +
      'istio-policy.istio-system.svc.cluster.local     15004     -          outbound      EDS\n' +
      'xds-grpc                                        -         -          -             STRICT_DNS\n');
    expect(tabWrite([['ADDRESS', 'PORT', 'TYPE'], ['172.21.134.116', '443', 'TCP'], ['0.0.0.0', '8080', 'HTTP']], 5)).toBe(
      'ADDRESS            PORT     TYPE\n172.21.134.116     443      TCP\n0.0.0.0            8080     HTTP\n');
  });

  it('every aligned column starts at the same offset on every line; the last cell is never padded', () => {
    const cell = fc.string({ maxLength: 12 }).filter((s) => !/[\t\n]/.test(s) && [...s].length === s.length);
    fc.assert(fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 6 }), fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 6 }), (n, padding, raw) => {
      const rows = raw.map((r) => r.slice(0, n));
      const lines = tabWrite(rows, padding).split('\n').slice(0, -1);
      let offset = 0;
      for (let col = 0; col < n - 1; col++) {
        const width = Math.max(...rows.map((r) => r[col]!.length)) + padding;
        rows.forEach((r, i) => expect(lines[i]!.slice(offset, offset + r[col]!.length)).toBe(r[col]));
        rows.forEach((r, i) => expect(lines[i]!.slice(offset + r[col]!.length, offset + width)).toBe(' '.repeat(width - r[col]!.length)));
        offset += width;
      }
      rows.forEach((r, i) => expect(lines[i]!.slice(offset)).toBe(r[n - 1]));
    }));
  });
});
