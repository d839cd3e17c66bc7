// HTTP/1.1 codec exports (request/response head parser, chunked decoder, head writer,
// response head filter), plus the status catalogue they share (assembly/status.ts).
export { status_count, status_http } from '../status';
export { parse_request_head, parse_response_head } from './head-parser';
export { chunked_init, chunked_decode } from './chunked-decoder';
export { write_request_head } from './head-writer';
export { filter_response_head } from './response-filter';
export { codec_layout } from './codec-layout';
