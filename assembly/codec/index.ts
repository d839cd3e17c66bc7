// HTTP/1.1 codec exports (request/response head parser, chunked decoder, head writer).
