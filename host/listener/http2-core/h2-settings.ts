// What the core codec's HTTP/2 listener announces in its SETTINGS (RFC 9113 §6.5), from its
// options; the identifiers and the peer's side are in core/h2/h2-settings.ts.
import type { CoreHttp2Options } from './core-http2-options.js';
import {
  SETTINGS_ENABLE_PUSH, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_HEADER_LIST_SIZE,
  SETTINGS_ENABLE_CONNECT_PROTOCOL,
} from '../../core/h2/h2-settings.js';

/** This server's SETTINGS frame payload, as [id, value]. */
export function localSettings(o: CoreHttp2Options): Array<[number, number]> {
  return [
    [SETTINGS_ENABLE_PUSH, 0],
    [SETTINGS_MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
    [SETTINGS_INITIAL_WINDOW_SIZE, o.initialStreamWindowSize],
    [SETTINGS_MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    // RFC 8441: clients may open WebSockets with an extended CONNECT (:protocol websocket).
    [SETTINGS_ENABLE_CONNECT_PROTOCOL, 1],
  ];
}
