// Statuses of the upstream-policy exports (cluster state, outlier detection, circuit breaker,
// retry policy), mirrored by host/core/upstream/upstream-status.ts (UpstreamStatus). Negative so that
// calls returning a count or an index can return them too. Append, never renumber.

export const enum UpstreamStatus {
  Ok = 0,
  /** The region does not start with the expected magic: not a cluster state / retry policy. */
  BadMagic = -1,
  /** A slot index at or beyond the region's capacity. */
  BadSlot = -2,
  /** slot_open on a slot already in use, or an operation on a free slot. */
  BadSlotState = -3,
  /** A circuit-breaker kind, outcome kind or counter id this core does not know. */
  BadKind = -4,
  /** A release with nothing acquired: the count stays at 0. */
  Underflow = -5,
  /** A record field out of its range (retry-on bits, code count, backoff interval, capacity). */
  BadValue = -6,
}
