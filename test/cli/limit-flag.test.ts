// `--limit name=value`: any data-path limit by name; unknown names and non-numbers are usage errors listing what exists.
import { describe, expect, it } from 'vitest';
import { limitsFromFlags } from '../../host/cli/limit-flag.js';
import { UsageError } from '../../host/cli/args.js';

describe('--limit', () => {
  it('takes limits by name', () => {
    expect(limitsFromFlags('wasmesh proxy', ['streamIdleTimeoutMs=60000', 'maxRequestsPerConnection=0'])).toEqual({ streamIdleTimeoutMs: 60000, maxRequestsPerConnection: 0 });
    expect(limitsFromFlags('wasmesh proxy', undefined)).toEqual({});
  });

  it('refuses unknown names and values that are not whole numbers, naming the known ones', () => {
    expect(() => limitsFromFlags('wasmesh proxy', ['streamIdle=1'])).toThrow(UsageError);
    expect(() => limitsFromFlags('wasmesh proxy', ['streamIdle=1'])).toThrow(/streamIdleTimeoutMs/);
    expect(() => limitsFromFlags('wasmesh proxy', ['streamIdleTimeoutMs=1.5'])).toThrow(/whole number/);
    expect(() => limitsFromFlags('wasmesh proxy', ['streamIdleTimeoutMs'])).toThrow(/<name>=<value>/);
  });
});
