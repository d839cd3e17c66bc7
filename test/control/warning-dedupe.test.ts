// WarningDedupe: each distinct warning once per load, whichever proxy reports it first.
import { describe, expect, it } from 'vitest';
import { WarningDedupe } from '../../host/control/warning-dedupe.js';

describe('WarningDedupe', () => {
  it('prints a warning several proxies report for one load once, and again for the next load', () => {
    const printed: string[] = [];
    const d = new WarningDedupe((w) => printed.push(w));
    d.report(['tls a', 'tls b'], 'load-1');
    d.report(['tls a', 'tls b', 'only the gateway'], 'load-1');
    d.report(['tls b', 'tls a'], 'load-1');
    expect(printed).toEqual(['tls a', 'tls b', 'only the gateway']);
    d.report(['tls a', 'tls b'], 'load-2');
    d.report(['tls a'], 'load-2');
    expect(printed).toEqual(['tls a', 'tls b', 'only the gateway', 'tls a', 'tls b']);
    // Back to the first files is a new load too.
    d.report(['tls a'], 'load-1');
    expect(printed.filter((w) => w === 'tls a')).toHaveLength(3);
  });

  it('prints repeats within one proxy\'s list once', () => {
    const printed: string[] = [];
    new WarningDedupe((w) => printed.push(w)).report(['x', 'x'], 'k');
    expect(printed).toEqual(['x']);
  });
});
