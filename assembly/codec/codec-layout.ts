// Layout constants of the codec's structs, exported so that host/core/codec/codec-layout.ts can
// check at load time that both sides of the boundary agree.
import { MAX_HEAD_BYTES, MAX_HEADERS, PH_SIZE, PH_HEADERS } from './parsed-head';
import { CD_SIZE, CD_SPANS, CD_MAX_SPANS } from './chunked-decoder';
import { WA_SIZE, WA_EDITS } from './head-writer';
import { MAX_EDIT_LISTS, EL_ENTRY } from './edit-list';
import { RF_PAIR } from './response-filter';

/** One layout constant by number; 0 for an unknown number. */
export function codec_layout(which: i32): u32 {
  switch (which) {
    case 0: return PH_SIZE;
    case 1: return PH_HEADERS;
    case 2: return MAX_HEADERS;
    case 3: return MAX_HEAD_BYTES;
    case 4: return CD_SIZE;
    case 5: return CD_SPANS;
    case 6: return CD_MAX_SPANS;
    case 7: return WA_SIZE;
    case 8: return WA_EDITS;
    case 9: return MAX_EDIT_LISTS;
    case 10: return EL_ENTRY;
    case 11: return RF_PAIR;
    default: return 0;
  }
}
