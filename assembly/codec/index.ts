// HTTP/1.1 codec exports (request/response head parser, chunked decoder, head writer), plus
// the status catalogue they share (assembly/status.ts).
export { status_count, status_http } from '../status';
export { parse_request_head, parse_response_head } from './head-parser';
export { codec_layout } from './codec-layout';
