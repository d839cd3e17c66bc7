// Envoy's logger levels for the operational log, as its admin /logging changes them at run time:
// named loggers, each with a level among trace, debug, info, warning, error, critical, off; a
// line passes its logger when its level is at or above the logger's. The admin API sets them,
// the runtime gates its loggers' lines through them (one comparison per line, off the data path).
import type { Log, LogLevel } from './log.js';

/** Envoy's levels, lowest first (spdlog's order). */
export const ENVOY_LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type EnvoyLogLevel = (typeof ENVOY_LOG_LEVELS)[number];

const RANK: Readonly<Record<EnvoyLogLevel, number>> = { trace: 0, debug: 1, info: 2, warning: 3, error: 4, critical: 5, off: 6 };
/** wasmesh's three levels on Envoy's scale (`warn` is Envoy's `warning`). */
const LINE_RANK: Readonly<Record<LogLevel, number>> = { info: 2, warn: 3, error: 4 };

export function isEnvoyLogLevel(s: string): s is EnvoyLogLevel {
  return (ENVOY_LOG_LEVELS as readonly string[]).includes(s);
}

export class LogLevels {
  readonly #levels = new Map<string, EnvoyLogLevel>();

  /** The loggers, in the order given, each at `initial` (Envoy's default is info). */
  constructor(loggers: readonly string[], initial: EnvoyLogLevel = 'info') {
    for (const name of loggers) this.#levels.set(name, initial);
  }

  /** [name, level] for every logger, in registration order (as /logging lists them). */
  entries(): Array<[string, EnvoyLogLevel]> {
    return [...this.#levels];
  }

  has(name: string): boolean {
    return this.#levels.has(name);
  }

  level(name: string): EnvoyLogLevel | undefined {
    return this.#levels.get(name);
  }

  /** Sets one logger; false when there is no such logger. */
  set(name: string, level: EnvoyLogLevel): boolean {
    if (!this.#levels.has(name)) return false;
    this.#levels.set(name, level);
    return true;
  }

  /** Sets every logger (/logging?level=). */
  setAll(level: EnvoyLogLevel): void {
    for (const name of this.#levels.keys()) this.#levels.set(name, level);
  }

  /** `log` with the lines of `name` below its current level dropped. */
  gate(name: string, log: Log): Log {
    if (!this.#levels.has(name)) this.#levels.set(name, 'info');
    return (level, message) => {
      if (LINE_RANK[level] >= RANK[this.#levels.get(name)!]) log(level, message);
    };
  }
}
