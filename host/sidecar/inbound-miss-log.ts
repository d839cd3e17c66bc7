// Explains the inbound listener's 404 NR answers on the operational log: a request whose Host
// names a port that is not an app port is refused (see inbound-mesh.ts), and the access log's
// bare `404 NR` would leave an operator guessing why. Once per port, so a scan cannot flood it.
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { Log } from '../common/log.js';

/** Distinct ports explained before the log goes quiet (each further port is only counted). */
const MAX_EXPLAINED_PORTS = 32;

export class InboundMissLog {
  readonly #appPorts: readonly number[];
  readonly #log: Log;
  readonly #explained = new Set<string>();
  #quiet = false;

  constructor(appPorts: readonly number[], log: Log) {
    this.#appPorts = appPorts;
    this.#log = log;
  }

  /** Whether a finished request (status, response flags) is one record() explains: a 404 NR. */
  static wants(this: void, code: number, flags: readonly string[]): boolean {
    return code === 404 && flags.includes('NR');
  }

  /** Looks at one finished inbound request; logs the first refusal of each port. */
  record(entry: AccessLogEntry): void {
    if (entry.code !== 404 || !entry.flags.split(',').includes('NR')) return;
    const port = authorityPort(entry.authority);
    const key = port ?? entry.authority;
    if (this.#explained.has(key)) return;
    if (this.#explained.size >= MAX_EXPLAINED_PORTS) {
      if (!this.#quiet) {
        this.#quiet = true;
        this.#log('warn', `inbound: ${MAX_EXPLAINED_PORTS} different refused ports explained; further ones only appear in the access log as 404 NR`);
      }
      return;
    }
    this.#explained.add(key);
    const ports = this.#appPorts.join(',');
    this.#log(
      'warn',
      port === null
        ? `inbound: request with Host "${entry.authority}" refused (404 NR): its port cannot be read, so it names none of the app ports (--app-ports ${ports})`
        : `inbound: request with Host "${entry.authority}" refused (404 NR): port ${port} is not an app port (--app-ports ${ports}); ` +
          'the inbound listener forwards only to the app ports, taking the port from the Host header (Node cannot read the original destination)',
    );
  }
}

/** The port of `host:port` or `[v6]:port`, as text; null when there is none or it is not a number. */
function authorityPort(authority: string): string | null {
  const m = /^(?:\[[^\]]*\]|[^:[\]]*):([0-9]{1,5})$/.exec(authority);
  return m ? m[1]! : null;
}
