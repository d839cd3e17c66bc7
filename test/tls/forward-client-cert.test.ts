import { describe, it, expect } from 'vitest';
import { forwardClientCert } from '../../host/tls/forward-client-cert.js';

describe('forwardClientCert (APPEND_FORWARD over mutual TLS, dropped otherwise)', () => {
  it('appends the connection\'s element to what came in, as one field', () => {
    const f = ['host', 'a', 'x-forwarded-client-cert', 'By=p;URI=q', 'accept', '*/*', 'x-forwarded-client-cert', 'By=r'];
    forwardClientCert(f, 'By=me;Hash=h;Subject="";URI=peer');
    expect(f).toEqual(['host', 'a', 'accept', '*/*', 'x-forwarded-client-cert', 'By=p;URI=q,By=r,By=me;Hash=h;Subject="";URI=peer']);
  });
  it('sets the element when none came in', () => {
    const f = ['host', 'a'];
    forwardClientCert(f, 'By=me');
    expect(f).toEqual(['host', 'a', 'x-forwarded-client-cert', 'By=me']);
  });
  it('drops every incoming XFCC without mutual TLS', () => {
    const f = ['x-forwarded-client-cert', 'By=forged', 'host', 'a', 'x-forwarded-client-cert', 'URI=x'];
    forwardClientCert(f, null);
    expect(f).toEqual(['host', 'a']);
  });
});
