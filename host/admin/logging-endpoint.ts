// Envoy's POST /logging: without a parameter the loggers and their levels; `?level=<level>` sets
// every logger, `?<logger>=<level>` one, `?paths=<logger>:<level>,…` several. An unknown level
// or logger is a 400 that names it, with Envoy's usage lines, and changes nothing.
import type { PortResponse } from '../common/uws-http-port.js';
import { ENVOY_LOG_LEVELS, isEnvoyLogLevel, type EnvoyLogLevel, type LogLevels } from '../common/log-levels.js';

const USAGE = [
  'usage: /logging?<name>=<level> (change single level)',
  'usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)',
  'usage: /logging?level=<level> (change all levels)',
  `levels: ${ENVOY_LOG_LEVELS.join(' ')} `,
].join('\n');

function active(levels: LogLevels): string {
  return `active loggers:\n${levels.entries().map(([n, l]) => `  ${n}: ${l}\n`).join('')}`;
}

function text(status: number, body: string): PortResponse {
  return { status, type: 'text/plain; charset=utf-8', body };
}

export function loggingEndpoint(levels: LogLevels, params: URLSearchParams): PortResponse {
  const changes: Array<[string | null, EnvoyLogLevel]> = [];
  const fail = (what: string) => text(400, `error: ${what}\n\n${USAGE}\n${active(levels)}`);
  for (const [key, value] of params) {
    if (key === 'paths') {
      for (const item of value.split(',')) {
        const at = item.lastIndexOf(':');
        const name = at < 0 ? item : item.slice(0, at);
        const level = at < 0 ? '' : item.slice(at + 1);
        if (!isEnvoyLogLevel(level)) return fail(`unknown logger level '${level}'`);
        if (!levels.has(name)) return fail(`unknown logger name '${name}'`);
        changes.push([name, level]);
      }
      continue;
    }
    if (!isEnvoyLogLevel(value)) return fail(`unknown logger level '${value}'`);
    if (key === 'level') changes.push([null, value]);
    else if (levels.has(key)) changes.push([key, value]);
    else return fail(`unknown logger name '${key}'`);
  }
  // Checked first, applied after: a bad entry changes nothing.
  for (const [name, level] of changes) {
    if (name === null) levels.setAll(level);
    else levels.set(name, level);
  }
  return text(200, active(levels));
}
