// Layout constants of the codec's structs, exported so that host/core/codec.ts can check at
// load time that both sides of the boundary agree.
import { MAX_HEAD_BYTES, MAX_HEADERS, PH_SIZE, PH_HEADERS } from './parsed-head';

/** One layout constant by number; 0 for an unknown number. */
export function codec_layout(which: i32): u32 {
  switch (which) {
    case 0: return PH_SIZE;
    case 1: return PH_HEADERS;
    case 2: return MAX_HEADERS;
    case 3: return MAX_HEAD_BYTES;
    default: return 0;
  }
}
