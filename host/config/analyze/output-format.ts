// istioctl analyze's three output formats (istioctl/pkg/util/formatting/formatter.go): `log`,
// one line per message; `json`, the messages as objects (keys in Go's sorted map order,
// tab-indented); `yaml`, the same objects as YAML.
import { stringify } from 'yaml';
import { documentationUrl, formatLog, friendlyName, reference, render, type AnalysisMessage } from './message.js';

export const OUTPUT_FORMATS = ['log', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const COLORS = { Error: '\u001b[1;31m', Warning: '\u001b[33m', Info: '' } as const;

/** Istio's Message.Unstructured(true): code, documentationUrl, level, message, origin, reference. */
export function unstructured(m: AnalysisMessage): Record<string, string> {
  const out: Record<string, string> = { code: m.type.code, documentationUrl: documentationUrl(m), level: m.type.level, message: render(m) };
  if (m.origin !== null) {
    out['origin'] = friendlyName(m.origin);
    const ref = reference(m);
    if (ref !== null) out['reference'] = ref;
  }
  return out;
}

/** The text istioctl prints for `messages` (without the newline it adds). */
export function formatMessages(messages: readonly AnalysisMessage[], format: OutputFormat, colorize = false): string {
  switch (format) {
    case 'log':
      return messages.map((m) => {
        const line = formatLog(m);
        const color = COLORS[m.type.level];
        // istioctl colours the level word only, and emits the reset even for Info.
        return colorize ? `${color}${m.type.level}\u001b[0m${line.slice(m.type.level.length)}` : line;
      }).join('\n');
    case 'json':
      // Go's encoding/json escapes <, > and & (and U+2028/9) in strings; so does this.
      return JSON.stringify(messages.map(unstructured), null, '\t').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    case 'yaml':
      return stringify(messages.map(unstructured), { lineWidth: 0 });
  }
}
