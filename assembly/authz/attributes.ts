// The attribute region: what the host writes per request beside the request view (which
// already holds method, path, authority and headers): the peer's principal and namespace,
// addresses, the destination port, SNI and the verified JWT's attributes, each as one or more
// entries. Only the attributes the table's attrMask names are written, so a mesh whose
// policies read none of them pays nothing.
//
// Layout (u32, little-endian), at an address the host allocates once per core:
//   +0  entryCount (at most AT_MAX_ENTRIES; more are ignored)
//   +4  0
//   +8  entries, AT_MAX_ENTRIES (256) × 12 bytes: key, ptr, len
//       key  = attribute (Attr in table.ts) | claim index << 8 for request.auth.claims
//       ptr  = absolute address of the value's bytes, len their length:
//              strings as UTF-8; addresses 4 (IPv4) or 16 (IPv6) bytes in network order;
//              destination.port 4 bytes, the port as a little-endian u32
//       a multi-valued attribute (audiences, a list claim) has one entry per value; an absent
//       attribute has none
//   then the byte area, AT_BYTES (32 KiB) bytes, where the host puts the values' bytes.

export const AT_MAX_ENTRIES: u32 = 256;
export const AT_ENTRY: u32 = 12;
export const AT_ENTRIES: u32 = 8;
export const AT_BYTES_OFF: u32 = AT_ENTRIES + AT_MAX_ENTRIES * AT_ENTRY;
export const AT_BYTES: u32 = 32 * 1024;
export const AT_SIZE: u32 = AT_BYTES_OFF + AT_BYTES;

/** The region's entry count, clamped to the capacity. */
@inline export function entryCount(a: usize): u32 {
  const n = load<u32>(a);
  return n > AT_MAX_ENTRIES ? AT_MAX_ENTRIES : n;
}
