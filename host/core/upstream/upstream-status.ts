// The statuses of the upstream exports (assembly/upstream/upstream-status.ts) and the error
// every binding in this folder throws for them, with a stable code.

/** Mirrors UpstreamStatus in assembly/upstream/upstream-status.ts. */
export const UpstreamStatus = {
  Ok: 0,
  BadMagic: -1,
  BadSlot: -2,
  BadSlotState: -3,
  BadKind: -4,
  Underflow: -5,
  BadValue: -6,
} as const;

export type UpstreamPolicyErrorCode =
  | 'bad_magic' | 'bad_slot' | 'bad_slot_state' | 'bad_kind' | 'underflow' | 'bad_value'
  | 'layout_mismatch' | 'released' | 'invalid_setting';

const STATUS_CODE: Record<number, UpstreamPolicyErrorCode> = {
  [UpstreamStatus.BadMagic]: 'bad_magic',
  [UpstreamStatus.BadSlot]: 'bad_slot',
  [UpstreamStatus.BadSlotState]: 'bad_slot_state',
  [UpstreamStatus.BadKind]: 'bad_kind',
  [UpstreamStatus.Underflow]: 'underflow',
  [UpstreamStatus.BadValue]: 'bad_value',
};

const REASON: Record<UpstreamPolicyErrorCode, string> = {
  bad_magic: 'the address is not a cluster state region or retry policy record',
  bad_slot: 'the endpoint slot is beyond the region capacity',
  bad_slot_state: 'the endpoint slot is free where an endpoint was expected, or in use where a free slot was expected',
  bad_kind: 'unknown circuit-breaker kind, outcome kind or counter',
  underflow: 'released more than was acquired',
  bad_value: 'a setting is out of range',
  layout_mismatch: 'core.wasm and host/core/upstream/ disagree on the upstream layout; rebuild both',
  released: 'the cluster state or retry policy was already freed',
  invalid_setting: 'a value is out of its allowed range',
};

export class UpstreamPolicyError extends Error {
  readonly code: UpstreamPolicyErrorCode;
  /** The core's status (0 when the host found the problem). */
  readonly status: number;
  constructor(code: UpstreamPolicyErrorCode, status: number, detail: string) {
    super(`${detail}: ${REASON[code]} (${code})`);
    this.name = 'UpstreamPolicyError';
    this.code = code;
    this.status = status;
  }
}

/** `status` when it is not negative; otherwise the UpstreamPolicyError for it, naming `what`. */
export function check(status: number, what: string): number {
  if (status < 0) throw new UpstreamPolicyError(STATUS_CODE[status] ?? 'bad_value', status, what);
  return status;
}
