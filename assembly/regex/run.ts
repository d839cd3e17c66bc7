// Runs a checked regex program over subject bytes: one table lookup per byte, no allocation,
// linear in the subject, stopping early in the dead state.
import { RX_CLASS_COUNT, RX_START, RX_ACCEPT, RX_NEXT, RX_CLASS_MAP } from './program';

/** Does the whole subject (s, n) match the program at `p` (which checkProgram accepted)? */
export function runProgram(p: usize, s: usize, n: usize): bool {
  const classes = <usize>load<u32>(p + RX_CLASS_COUNT);
  const map = p + <usize>RX_CLASS_MAP;
  const next = p + <usize>load<u32>(p + RX_NEXT);
  let state = <usize>load<u32>(p + RX_START);
  const end = s + n;
  while (s < end) {
    const cls = <usize>load<u8>(map + <usize>load<u8>(s));
    state = <usize>load<u16>(next + ((state * classes + cls) << 1));
    if (state == 0) return false;
    s++;
  }
  return load<u8>(p + <usize>load<u32>(p + RX_ACCEPT) + state) != 0;
}
