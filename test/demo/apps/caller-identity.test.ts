import { describe, expect, it } from 'vitest';
import { callerIdentity } from '../../../host/demo/apps/caller-identity.js';

describe('callerIdentity', () => {
  it('the URI of the last element: the direct peer the sidecar appended', () => {
    expect(callerIdentity('By=spiffe://cluster.local/ns/default/sa/b;Hash=ab12;URI=spiffe://cluster.local/ns/default/sa/a')).toBe('spiffe://cluster.local/ns/default/sa/a');
    expect(callerIdentity('URI=spiffe://td/ns/x/sa/first,By=spiffe://td/ns/y/sa/me;URI=spiffe://td/ns/y/sa/second')).toBe('spiffe://td/ns/y/sa/second');
  });

  it('commas and semicolons inside quoted fields do not split', () => {
    expect(callerIdentity('Subject="CN=a,O=b;c";URI=spiffe://td/ns/n/sa/s')).toBe('spiffe://td/ns/n/sa/s');
  });

  it('null without the header or without a URI in the last element', () => {
    expect(callerIdentity(undefined)).toBeNull();
    expect(callerIdentity('')).toBeNull();
    expect(callerIdentity('URI=spiffe://td/ns/n/sa/s,Hash=ab')).toBeNull();
  });
});
