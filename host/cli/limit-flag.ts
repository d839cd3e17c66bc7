// `--limit <name>=<value>` (repeatable): any data-path limit of host/common/limits.ts by name,
// with Envoy's default where not given (e.g. --limit streamIdleTimeoutMs=60000,
// --limit maxRequestsPerConnection=1000). Unknown names and bad values are usage errors that
// list what exists.
import type { FlagSpec } from './args.js';
import { UsageError } from './args.js';
import { DEFAULT_LIMITS, type Limits } from '../common/limits.js';

export const LIMIT_FLAG: FlagSpec = {
  name: 'limit',
  kind: 'string',
  repeat: true,
  valueName: '<name=value>',
  help: 'a data-path limit by name (timeouts in ms), e.g. streamIdleTimeoutMs=60000; see docs/configuration.md (Limits and defaults)',
};

export function limitsFromFlags(command: string, values: string[] | undefined): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const text of values ?? []) {
    const eq = text.indexOf('=');
    const name = text.slice(0, eq) as keyof Limits;
    const raw = text.slice(eq + 1);
    if (eq <= 0 || !(name in DEFAULT_LIMITS)) {
      throw new UsageError(command, `--limit ${JSON.stringify(text)}: expected <name>=<value> with a name from ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    }
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) throw new UsageError(command, `--limit ${name}: expected a whole number, got ${JSON.stringify(raw)}`);
    out[name] = value;
  }
  return out;
}
