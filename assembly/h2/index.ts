// HTTP/2 exports: frame scanner, HPACK tables, decoder and encoder, and their status catalogue.
export { h2_status_error, h2_status_count } from './h2-status';
export { h2_scanner_init, h2_check_preface, h2_scan_frame } from './frame-scanner';
export { hpack_table_new, hpack_table_free, hpack_table_field } from './hpack-table';
export { hpack_decode } from './hpack-decoder';
export { hpack_encode, hpack_encoder_set_limit } from './hpack-encoder';
export { h2_request_list } from './request-head-list';
export { h2_response_head } from './response-head-list';
export { h2_layout } from './h2-layout';
