import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MESSAGES, message } from '../../../host/config/analyze/message.js';
import { formatMessages } from '../../../host/config/analyze/output-format.js';

const origin = { kind: 'VirtualService', namespace: 'default', name: 'reviews', file: 'vs.yaml', line: 3 };
const messages = [
  message(MESSAGES.ReferencedResourceNotFound, origin, 12, 'host', 'foo'),
  message(MESSAGES.UnknownDestinationRuleHost, { ...origin, kind: 'DestinationRule' }, null, 'foo'),
];
const OBJECT = {
  code: 'IST0101',
  documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/?ref=istioctl-analyze',
  level: 'Error',
  message: 'Referenced host not found: "foo"',
  origin: 'VirtualService default/reviews',
  reference: 'vs.yaml:12',
};

describe('istioctl analyze output formats', () => {
  it('log: one line per message; colour on the level word only when asked', () => {
    expect(formatMessages(messages, 'log')).toBe(
      'Error [IST0101] (VirtualService default/reviews vs.yaml:12) Referenced host not found: "foo"\n'
      + 'Warning [IST0174] (DestinationRule default/reviews vs.yaml:3) The host foo defined in the DestinationRule does not match any services in the mesh.',
    );
    expect(formatMessages(messages.slice(0, 1), 'log', true)).toBe('\u001b[1;31mError\u001b[0m [IST0101] (VirtualService default/reviews vs.yaml:12) Referenced host not found: "foo"');
  });

  it('json: tab-indented objects with istioctl\'s keys in Go\'s sorted order', () => {
    const text = formatMessages(messages, 'json');
    expect(text.split('\n')[1]).toBe('\t{');
    expect(text.split('\n')[2]).toBe('\t\t"code": "IST0101",');
    const parsed = JSON.parse(text) as Record<string, string>[];
    expect(parsed[0]).toEqual(OBJECT);
    expect(Object.keys(parsed[0]!)).toEqual(['code', 'documentationUrl', 'level', 'message', 'origin', 'reference']);
    expect(formatMessages([], 'json')).toBe('[]');
    // Go's encoding/json escapes HTML characters.
    expect(formatMessages([message(MESSAGES.ReferencedResourceNotFound, null, null, 'host', 'a<b>&c')], 'json')).toContain('"message": "Referenced host not found: \\"a\\u003cb\\u003e\\u0026c\\""');
  });

  it('yaml: the same objects', () => {
    const parsed = parse(formatMessages(messages, 'yaml')) as Record<string, string>[];
    expect(parsed[0]).toEqual(OBJECT);
    expect(parsed[1]!['reference']).toBe('vs.yaml:3');
  });
});
