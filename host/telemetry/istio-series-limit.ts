// How many istio_* series one server keeps (requests and TCP alike): label values come partly
// from peers and requests, so the count is capped; what is past it is counted as overflow.
export const MAX_SERIES = 20_000;
