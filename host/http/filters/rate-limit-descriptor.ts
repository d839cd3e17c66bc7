// The values of a rate limit descriptor for one request (Envoy's rate_limits actions), shared
// by the local and the global rate limit filters: each entry reads one attribute of the
// request; when one has none (a header absent, a plaintext peer), the request does not produce
// the descriptor and the rule does not apply, as Envoy skips a descriptor whose action fails.
import type { DescriptorSource } from '../../model/rate-limit.js';
import type { StreamCallbacks } from '../stream-callbacks.js';

const SPIFFE = 'spiffe://';

/** One entry's value for `stream`, or null. */
export function descriptorValue(source: DescriptorSource, stream: StreamCallbacks): string | null {
  switch (source.kind) {
    case 'requestHeader':
      return stream.requestHeader(source.header);
    case 'remoteAddress':
      return stream.downstream.remoteAddress || null;
    case 'sourcePrincipal': {
      const id = stream.downstream.security?.peerSpiffeId ?? null;
      return id === null ? null : id.startsWith(SPIFFE) ? id.slice(SPIFFE.length) : id;
    }
    case 'path':
      return stream.downstream.path;
    case 'genericKey':
      return source.value;
  }
}

/** Fills `out` (one slot per entry, reused across requests) with the descriptor's values: false when an entry has none. */
export function descriptorValues(sources: readonly DescriptorSource[], stream: StreamCallbacks, out: string[]): boolean {
  for (let i = 0; i < sources.length; i++) {
    const v = descriptorValue(sources[i]!, stream);
    if (v === null) return false;
    out[i] = v;
  }
  return true;
}
