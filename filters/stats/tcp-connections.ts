// The open connections of the TCP stats filter, in linear memory: one 56-byte record per
// connection (allocated when it opens, freed when it ends), found by context id through a
// ContextTable and linked in one list the root's tick walks for the periodic report. Per record:
// the series it reports to (once resolved), whether its opening was counted, the bytes each
// way not yet added to the series, and its TCP metadata exchange's state (tcp-exchange.ts).
import { ContextTable } from '../abi/context-table';

const C_NEXT: usize = 0;
const C_PREV: usize = 4;
const C_ID: usize = 8;
const C_ROOT: usize = 12;
const C_SLOT: usize = 16;
const C_OPENED: usize = 20;
const C_RECEIVED: usize = 24;
const C_SENT: usize = 32;
const C_XFLAGS: usize = 40;
const C_XPEER: usize = 44;
const C_XBUF: usize = 48;
const C_XLEN: usize = 52;
const SIZE: usize = 56;

const byId = new ContextTable();
let head: usize = 0;

/** Starts tracking connection `id` of root `rootId`; returns its record. */
export function openConnection(id: u32, rootId: u32): usize {
  const c = heap.alloc(SIZE);
  memory.fill(c, 0, SIZE);
  store<u32>(c + C_ID, id);
  store<u32>(c + C_ROOT, rootId);
  store<u32>(c + C_NEXT, <u32>head);
  if (head != 0) store<u32>(head + C_PREV, <u32>c);
  head = c;
  byId.set(id, <u32>c);
  return c;
}

/** The record of connection `id`, or 0. */
export function connectionOf(id: u32): usize {
  return <usize>byId.get(id, 0);
}

/** Stops tracking a connection and frees its record. */
export function closeConnection(c: usize): void {
  const next = <usize>load<u32>(c + C_NEXT);
  const prev = <usize>load<u32>(c + C_PREV);
  if (prev != 0) store<u32>(prev + C_NEXT, <u32>next);
  else head = next;
  if (next != 0) store<u32>(next + C_PREV, <u32>prev);
  byId.delete(load<u32>(c + C_ID));
  const held = <usize>load<u32>(c + C_XBUF);
  if (held != 0) heap.free(held);
  heap.free(c);
}

/** The first tracked connection (0: none); then nextConnection. */
export function firstConnection(): usize {
  return head;
}

export function nextConnection(c: usize): usize {
  return <usize>load<u32>(c + C_NEXT);
}

export function openConnections(): u32 {
  return byId.size;
}

export function connId(c: usize): u32 {
  return load<u32>(c + C_ID);
}

export function connRoot(c: usize): u32 {
  return load<u32>(c + C_ROOT);
}

/** The series slot (series-ids.ts) the connection reports to; 0: not resolved yet. */
export function connSlot(c: usize): usize {
  return <usize>load<u32>(c + C_SLOT);
}

export function setConnSlot(c: usize, slot: usize): void {
  store<u32>(c + C_SLOT, <u32>slot);
}

/** Whether istio_tcp_connections_opened_total has counted it (or it was not countable: overflow). */
export function connOpened(c: usize): bool {
  return load<u32>(c + C_OPENED) != 0;
}

export function setConnOpened(c: usize): void {
  store<u32>(c + C_OPENED, 1);
}

/** Adds bytes from the downstream (source → destination: received). */
export function addReceived(c: usize, n: u64): void {
  store<u64>(c + C_RECEIVED, load<u64>(c + C_RECEIVED) + n);
}

/** Adds bytes from the upstream (destination → source: sent). */
export function addSent(c: usize, n: u64): void {
  store<u64>(c + C_SENT, load<u64>(c + C_SENT) + n);
}

/** The received bytes not yet reported; reading clears them. */
export function takeReceived(c: usize): u64 {
  const v = load<u64>(c + C_RECEIVED);
  store<u64>(c + C_RECEIVED, 0);
  return v;
}

/** The sent bytes not yet reported; reading clears them. */
export function takeSent(c: usize): u64 {
  const v = load<u64>(c + C_SENT);
  store<u64>(c + C_SENT, 0);
  return v;
}

/** The exchange's flags (tcp-exchange.ts). */
export function xFlags(c: usize): u32 {
  return load<u32>(c + C_XFLAGS);
}

export function setXFlags(c: usize, f: u32): void {
  store<u32>(c + C_XFLAGS, f);
}

/** The peer record the exchange named (stats-config.ts), or 0. */
export function xPeer(c: usize): usize {
  return <usize>load<u32>(c + C_XPEER);
}

export function setXPeer(c: usize, peer: usize): void {
  store<u32>(c + C_XPEER, <u32>peer);
}

/** The peer's exchange bytes held so far (a block of the exchange's own), and their count. */
export function xBuf(c: usize): usize {
  return <usize>load<u32>(c + C_XBUF);
}

export function xLen(c: usize): usize {
  return <usize>load<u32>(c + C_XLEN);
}

export function setXBuf(c: usize, buf: usize, len: usize): void {
  store<u32>(c + C_XBUF, <u32>buf);
  store<u32>(c + C_XLEN, <u32>len);
}
