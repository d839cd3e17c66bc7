// The one catalogue of status codes the HTTP/2 core returns (frame scanner, HPACK decoder and
// encoder), mirrored by host/core/h2/h2-status.ts. Each failure maps to the RFC 9113 §7 error
// code the endpoint sends and to its scope: a connection error (GOAWAY) or a stream error
// (RST_STREAM). Numbers are stable and dense so both sides check at load time that they agree.

export const enum H2Status {
  /** A frame (or header block) was read; results are in the output struct. */
  Ok = 0,
  /** The input ends inside a frame: read more bytes and call again. */
  Incomplete = 1,

  // ── Frame scanner (RFC 9113 §4, §6) ────────────────────────────────────────────────
  /** Connection PROTOCOL_ERROR. The client connection preface is wrong (§3.4). */
  BadPreface = 2,
  /** Connection FRAME_SIZE_ERROR. A frame longer than SETTINGS_MAX_FRAME_SIZE (§4.2). */
  FrameTooLarge = 3,
  /** Connection PROTOCOL_ERROR. A stream frame on stream 0, or a connection frame on a stream. */
  BadStreamId = 4,
  /** Connection PROTOCOL_ERROR. The pad length is not smaller than the payload (§6.1, §6.2). */
  BadPadding = 5,
  /** Connection FRAME_SIZE_ERROR. A fixed-size frame with the wrong length (§6.3–§6.9). */
  BadFrameLength = 6,
  /** Stream FRAME_SIZE_ERROR. A PRIORITY frame whose length is not 5 (§6.3). */
  BadPriorityLength = 7,
  /** Connection PROTOCOL_ERROR. ENABLE_PUSH other than 0 or 1, or MAX_FRAME_SIZE out of range (§6.5.2). */
  BadSettingValue = 8,
  /** Connection FLOW_CONTROL_ERROR. INITIAL_WINDOW_SIZE above 2^31-1 (§6.5.2). */
  BadInitialWindow = 9,
  /** PROTOCOL_ERROR. A WINDOW_UPDATE increment of 0 (§6.9): stream error, or connection error on stream 0. */
  ZeroWindowIncrement = 10,
  /** Connection PROTOCOL_ERROR. A frame other than CONTINUATION inside a header block, or a
   *  CONTINUATION outside one or on another stream (§6.10). */
  ExpectedContinuation = 11,
  /** Connection PROTOCOL_ERROR. A CONTINUATION with no header block open (§6.10). */
  UnexpectedContinuation = 12,
  /** Connection ENHANCE_YOUR_CALM. A header block (HEADERS + CONTINUATION) larger than the limit. */
  HeaderBlockTooLarge = 13,
  /** Connection PROTOCOL_ERROR. PUSH_PROMISE sent to a server (§8.4). */
  PushToServer = 14,
  /** Stream PROTOCOL_ERROR. A HEADERS frame that depends on its own stream (§5.3.1). */
  SelfDependency = 15,

  // ── HPACK decoder (RFC 7541) ─────────────────────────────────────────────────────
  /** Connection COMPRESSION_ERROR. An integer longer than 2^32-1, or cut short (§5.1). */
  BadInteger = 16,
  /** Connection COMPRESSION_ERROR. A string literal that runs past the block (§5.2). */
  TruncatedString = 17,
  /** Connection COMPRESSION_ERROR. Huffman data holding EOS, padding over 7 bits or not all ones (§5.2). */
  BadHuffman = 18,
  /** Connection COMPRESSION_ERROR. Index 0, or past the static and dynamic tables (§2.3.3). */
  BadIndex = 19,
  /** Connection COMPRESSION_ERROR. A dynamic table size update above the SETTINGS limit (§6.3). */
  TableSizeTooLarge = 20,
  /** Connection COMPRESSION_ERROR. A table size update after the first field of a block (§4.2). */
  LateTableSizeUpdate = 21,
  /** Stream PROTOCOL_ERROR (431 on HTTP). The decoded header list exceeds its size limit. */
  HeaderListTooLarge = 22,
  /** Stream PROTOCOL_ERROR (431). More header fields than the count limit (Envoy's default 100). */
  TooManyHeaders = 23,
  /** Internal. The output byte area is too small: grow it and call again (the table is unchanged). */
  OutputTooSmall = 24,
}

/** Number of codes; the host checks it against its own table at load time. */
export const H2_STATUS_COUNT: i32 = 25;

// RFC 9113 §7 error codes.
export const NO_ERROR: u32 = 0x0;
export const PROTOCOL_ERROR: u32 = 0x1;
export const INTERNAL_ERROR: u32 = 0x2;
export const FLOW_CONTROL_ERROR: u32 = 0x3;
export const FRAME_SIZE_ERROR: u32 = 0x6;
export const COMPRESSION_ERROR: u32 = 0x9;
export const ENHANCE_YOUR_CALM: u32 = 0xb;

/** Bit set in h2_status_error's answer when the error closes the connection (GOAWAY). */
export const CONNECTION_SCOPE: u32 = 0x100;

/**
 * The RFC 9113 error code for a status, OR'd with CONNECTION_SCOPE for connection errors;
 * 0 for Ok and Incomplete. ZeroWindowIncrement is reported with stream scope: on stream 0 the
 * host treats it as a connection error (it knows the stream id).
 */
export function h2_status_error(status: i32): u32 {
  switch (status) {
    case H2Status.Ok: case H2Status.Incomplete: return NO_ERROR;
    case H2Status.FrameTooLarge: case H2Status.BadFrameLength: return FRAME_SIZE_ERROR | CONNECTION_SCOPE;
    case H2Status.BadPriorityLength: return FRAME_SIZE_ERROR;
    case H2Status.BadInitialWindow: return FLOW_CONTROL_ERROR | CONNECTION_SCOPE;
    case H2Status.ZeroWindowIncrement: case H2Status.SelfDependency: return PROTOCOL_ERROR;
    case H2Status.HeaderListTooLarge: case H2Status.TooManyHeaders: return PROTOCOL_ERROR;
    case H2Status.HeaderBlockTooLarge: return ENHANCE_YOUR_CALM | CONNECTION_SCOPE;
    case H2Status.BadInteger: case H2Status.TruncatedString: case H2Status.BadHuffman:
    case H2Status.BadIndex: case H2Status.TableSizeTooLarge: case H2Status.LateTableSizeUpdate:
      return COMPRESSION_ERROR | CONNECTION_SCOPE;
    case H2Status.OutputTooSmall: return INTERNAL_ERROR;
    default: return PROTOCOL_ERROR | CONNECTION_SCOPE;
  }
}

/** The number of status codes (for the host's load-time check). */
export function h2_status_count(): i32 {
  return H2_STATUS_COUNT;
}
