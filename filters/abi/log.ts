// Logging (spec: "Logging"): proxy_log and a fixed-size line builder, so messages are written
// into one static buffer with no allocation (error paths included, where the heap may be full).
import { LogLevel } from './abi-types';

// proxy_log(log_level, message_data, message_size) → status
// OK; BAD_ARGUMENT for an unknown level; INVALID_MEMORY_ACCESS for a bad span.
@external("env", "proxy_log")
declare function proxy_log(level: u32, data: usize, size: usize): u32;

/** Logs `size` bytes at `data` at `level`; returns the host's status. */
export function logBytes(level: LogLevel, data: usize, size: usize): u32 {
  return proxy_log(<u32>level, data, size);
}

const LINE_CAPACITY: usize = 1024;
const LINE: usize = memory.data(<i32>LINE_CAPACITY);
let lineLen: usize = 0;

/**
 * A log line built in a static buffer: `LogLine.start()`, then `text`/`bytes`/`num`, then
 * `emit(level)`. Anything past the capacity is cut (the line ends with "…" bytes "...").
 * Only one line is built at a time: the VM is single-threaded and callbacks do not nest.
 */
export class LogLine {
  static start(): void {
    lineLen = 0;
  }

  /** Appends a string's code units, ASCII only (others become '?'): our messages are ASCII. */
  static text(s: string): void {
    const n = <usize>s.length;
    for (let i: usize = 0; i < n && lineLen < LINE_CAPACITY; i++) {
      const c = <u32>s.charCodeAt(<i32>i);
      store<u8>(LINE + lineLen++, c < 0x80 ? <u8>c : 0x3f);
    }
  }

  /** Appends `n` raw bytes (e.g. a header value) as they are. */
  static bytes(p: usize, n: usize): void {
    const room = LINE_CAPACITY - lineLen;
    const k = n < room ? n : room;
    memory.copy(LINE + lineLen, p, k);
    lineLen += k;
  }

  /** Appends a signed decimal number. */
  static num(v: i64): void {
    if (v < 0) LogLine.text('-');
    const u: u64 = v < 0 ? <u64>(-v) : <u64>v;
    let digits: usize = 1;
    for (let t = u; t >= 10; t /= 10) digits++;
    if (lineLen + digits > LINE_CAPACITY) return;
    let at = lineLen + digits;
    let t = u;
    do {
      store<u8>(LINE + --at, <u8>(0x30 + <i32>(t % 10)));
      t /= 10;
    } while (t > 0);
    lineLen += digits;
  }

  static emit(level: LogLevel): void {
    if (lineLen == LINE_CAPACITY) {
      store<u8>(LINE + LINE_CAPACITY - 3, 0x2e);
      store<u8>(LINE + LINE_CAPACITY - 2, 0x2e);
      store<u8>(LINE + LINE_CAPACITY - 1, 0x2e);
    }
    proxy_log(<u32>level, LINE, lineLen);
  }
}

/** Logs a constant ASCII message (no formatting). */
export function logText(level: LogLevel, s: string): void {
  LogLine.start();
  LogLine.text(s);
  LogLine.emit(level);
}
