// Counts gRPC messages in one direction of a stream from the length-prefixed framing of its body
// (a 1-byte flag, a 4-byte big-endian length, then the message): what Envoy's grpc_stats filter
// counts and Istio reports as istio_request_messages_total / istio_response_messages_total.
// Only the 5-byte prefixes are read: a message's bytes are skipped by their length, whatever
// the chunking, so a chunk costs a few comparisons and no copy. A frame whose flag has the high
// bit set (grpc-web's trailers frame) is not a message.
export class GrpcMessageCounter {
  /** Messages whose prefix has been read. */
  messages = 0;
  /** Prefix bytes read of the current frame (0: between frames). */
  #prefix = 0;
  #flag = 0;
  #length = 0;
  /** Message bytes still to skip. */
  #remaining = 0;

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, n - i);
        this.#remaining -= take;
        i += take;
        continue;
      }
      const b = chunk[i++]!;
      if (this.#prefix === 0) {
        this.#flag = b;
        this.#length = 0;
        this.#prefix = 1;
        continue;
      }
      this.#length = this.#length * 256 + b;
      if (++this.#prefix === 5) {
        if ((this.#flag & 0x80) === 0) this.messages++;
        this.#prefix = 0;
        this.#remaining = this.#length;
      }
    }
  }
}
