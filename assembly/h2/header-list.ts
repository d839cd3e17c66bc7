// The header list struct: what the HPACK decoder writes and the encoder reads. The host owns
// it (one per connection direction) and the byte area it points at; names and values are
// spans by absolute address into the decoded block (raw literals), the static table, or the
// byte area (Huffman-decoded strings and copies of dynamic table entries).
//
// Layout (u32 each):
//   +0  status        +4  count          +8  errorOffset (into the block)   +12 bytesUsed
//   +16 bytesPtr      +20 bytesCap       (the byte area: the host sets both)
//   +24 maxListSize   (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE: Σ name + value + 32)
//   +28 maxCount      (Envoy's max_headers_count, default 100)
//   +32 listSize      (the decoded list's size, counted as for maxListSize)
//   +40 fields, MAX_FIELDS × 20 bytes: namePtr, nameLen, valuePtr, valueLen, flags
export const HL_STATUS: u32 = 0;
export const HL_COUNT: u32 = 4;
export const HL_ERROR_OFFSET: u32 = 8;
export const HL_BYTES_USED: u32 = 12;
export const HL_BYTES_PTR: u32 = 16;
export const HL_BYTES_CAP: u32 = 20;
export const HL_MAX_LIST_SIZE: u32 = 24;
export const HL_MAX_COUNT: u32 = 28;
export const HL_LIST_SIZE: u32 = 32;
export const HL_FIELDS: u32 = 40;
export const HL_FIELD: u32 = 20;
/** Fields a list holds; the decoder's count limit (HL_MAX_COUNT) may only be lower. */
export const MAX_FIELDS: u32 = 256;
export const HL_SIZE: u32 = HL_FIELDS + MAX_FIELDS * HL_FIELD;

/** Field flags. */
export const enum FieldFlag {
  /** Never indexed (§6.2.3): an intermediary must forward it as never indexed too. */
  NEVER_INDEXED = 1,
  /** The decoder: the field was added to the dynamic table. Encoder input: ignored. */
  INDEXED = 2,
}
