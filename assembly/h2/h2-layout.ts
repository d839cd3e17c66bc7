// Layout constants of the HTTP/2 core's structs, exported so that host/core/h2/h2-layout.ts
// checks at load time that both sides of the boundary agree.
import { FS_SIZE, FS_VALUE1, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HEADER_BLOCK } from './frame-scanner';
import { HT_HEADER, DEFAULT_TABLE_SIZE } from './hpack-table';
import { HL_SIZE, HL_FIELDS, HL_FIELD, MAX_FIELDS } from './header-list';

/** One layout constant by number; 0 for an unknown number. */
export function h2_layout(which: i32): u32 {
  switch (which) {
    case 0: return FS_SIZE;
    case 1: return FS_VALUE1;
    case 2: return DEFAULT_MAX_FRAME_SIZE;
    case 3: return DEFAULT_MAX_HEADER_BLOCK;
    case 4: return HT_HEADER;
    case 5: return DEFAULT_TABLE_SIZE;
    case 6: return HL_SIZE;
    case 7: return HL_FIELDS;
    case 8: return HL_FIELD;
    case 9: return MAX_FIELDS;
    default: return 0;
  }
}
