import { describe, expect, it } from 'vitest';
import { unreachableRuleMessages } from '../../../host/config/analyze/unreachable-rules.js';
import { fixture } from './analyze-fixture.js';

const vs = (http: string, tcp = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts: [web]
  http:
${http}${tcp}`;
const route = '    route: [{destination: {host: web}}]\n';

describe('VirtualService unreachable rules and ineffective matches (IST0130, IST0131)', () => {
  it('a rule after a catch-all, and a second catch-all, are unreachable', () => {
    const f = fixture({ 'vs.yaml': vs(`  - name: all\n${route}  - match: [{uri: {prefix: /a}}]\n${route}  - ${route.trimStart()}`) });
    expect(f.log(unreachableRuleMessages(f.input))).toEqual([
      'Warning [IST0130] (VirtualService default/web vs.yaml:1) VirtualService rule #1 not used (route without matches defined before).',
      'Warning [IST0130] (VirtualService default/web vs.yaml:1) VirtualService rule #2 not used (only the last rule can have no matches).',
    ]);
  });

  it('a match an earlier rule has (names aside) is ineffective; a rule of only such matches is unreachable', () => {
    const f = fixture({ 'vs.yaml': vs(`  - name: first\n    match: [{uri: {exact: /x}, name: one}]\n${route}  - match: [{name: again, uri: {exact: /x}}]\n${route}  - match: [{uri: {exact: /x}}, {uri: {exact: /y}}]\n${route}`) });
    expect(f.log(unreachableRuleMessages(f.input))).toEqual([
      'Info [IST0131] (VirtualService default/web vs.yaml:1) VirtualService rule #1 match "again" is not used (duplicate/overlapping match in rule "first").',
      'Warning [IST0130] (VirtualService default/web vs.yaml:1) VirtualService rule #1 not used (all matches used by prior rules).',
      'Info [IST0131] (VirtualService default/web vs.yaml:1) VirtualService rule #2 match #0 is not used (duplicate/overlapping match in rule "first").',
    ]);
  });

  it('a longer URI prefix after a shorter one with the same other conditions is ineffective; different headers are not', () => {
    const f = fixture({ 'vs.yaml': vs(`  - match: [{uri: {prefix: /debug}}]\n${route}  - match: [{uri: {prefix: /debugs}}]\n${route}  - match: [{uri: {prefix: /debugger}, headers: {x: {exact: "1"}}}]\n${route}`) });
    expect(f.log(unreachableRuleMessages(f.input))).toEqual([
      'Info [IST0131] (VirtualService default/web vs.yaml:1) VirtualService rule #1 match #0 of prefix /debugs is not used (duplicate/overlapping match in rule #0 of prefix /debug on #0).',
    ]);
  });

  it('TCP rules: duplicate matches; distinct rules are fine', () => {
    const tcp = '  tcp:\n  - match: [{port: 27017}]\n    route: [{destination: {host: db}}]\n  - match: [{port: 27017}]\n    route: [{destination: {host: db}}]\n';
    expect(unreachableRuleMessages(fixture({ 'vs.yaml': vs(`  - ${route.trimStart()}`, tcp) }).input).map((m) => m.type.code)).toEqual(['IST0131', 'IST0130']);
    expect(unreachableRuleMessages(fixture({ 'vs.yaml': vs(`  - match: [{uri: {prefix: /a}}]\n${route}  - match: [{uri: {prefix: /b}}]\n${route}  - ${route.trimStart()}`) }).input)).toEqual([]);
  });
});
