// The AssemblyScript abort handler for the filters (built with `--use abort=…/wasmeshAbort`):
// Envoy provides no `env.abort`, so an abort (out of memory, a failed std check) is logged
// through proxy_log at CRITICAL and then traps; Envoy reports the failed callback and the
// plugin's fail-closed policy answers the request.
import { LogLevel } from './abi-types';
import { LogLine } from './log';

/** Called by AssemblyScript's std on abort; never returns. */
export function wasmeshAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // LogLine writes into static memory: it still works when the heap is exhausted.
  LogLine.start();
  LogLine.text('wasmesh filters: abort: ');
  if (message !== null) LogLine.text(message);
  if (fileName !== null) {
    LogLine.text(' at ');
    LogLine.text(fileName);
    LogLine.text(':');
    LogLine.num(line);
    LogLine.text(':');
    LogLine.num(column);
  }
  LogLine.emit(LogLevel.Critical);
  unreachable();
}
