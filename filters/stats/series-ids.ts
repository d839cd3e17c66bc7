// Metric ids by label set. Envoy's proxy_define_metric hands out a NEW id (and keeps a new map
// entry) on every call, even for a name it knows, so the filters define each series' metrics
// (six for an HTTP label set, four for a TCP one: istio-metric-names.ts) once and finds them again here: an open-addressing table in linear memory keyed by
// the encoded label bytes (FNV-1a), a copy of which is kept per entry. Bounded, like wasmesh's
// MAX_SERIES: past it a new label set is not counted (wasmesh_stats_series_overflow).

const SLOTS: u32 = 8192;
/** Entries at most (3/4 of the slots keep probes short). */
export const MAX_SERIES: u32 = 6144;
/** Per slot: hash, key pointer, key length, then the ids of up to six metrics. */
const SLOT_SIZE: usize = 36;
export const METRICS_PER_SERIES: u32 = 6;

let table: usize = 0;
let used: u32 = 0;

function hashOf(p: usize, n: usize): u32 {
  let h: u32 = 2166136261;
  for (let i: usize = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
  // 0 marks an empty slot.
  return h == 0 ? 1 : h;
}

/**
 * The slot of the label set `n` bytes at `p`: its ids are at idsOf(slot). `created` is set when the
 * slot is new (the caller defines its metrics). 0 when the table is full.
 */
export function seriesSlot(p: usize, n: usize): usize {
  if (table == 0) {
    table = heap.alloc(<usize>SLOTS * SLOT_SIZE);
    memory.fill(table, 0, <usize>SLOTS * SLOT_SIZE);
  }
  const h = hashOf(p, n);
  let i = h & (SLOTS - 1);
  while (true) {
    const at = table + <usize>i * SLOT_SIZE;
    const sh = load<u32>(at);
    if (sh == 0) {
      if (used >= MAX_SERIES) return 0;
      const key = heap.alloc(n > 0 ? n : 1);
      memory.copy(key, p, n);
      store<u32>(at, h);
      store<u32>(at + 4, <u32>key);
      store<u32>(at + 8, <u32>n);
      // No id yet: a metric the host refuses to define stays at NO_ID, which names no metric (never another series').
      memory.fill(at + 12, 0xff, <usize>METRICS_PER_SERIES * 4);
      used++;
      created = true;
      return at;
    }
    if (sh == h && <usize>load<u32>(at + 8) == n && memory.compare(<usize>load<u32>(at + 4), p, n) == 0) {
      created = false;
      return at;
    }
    i = (i + 1) & (SLOTS - 1);
  }
  return 0;
}

let created = false;

/** Whether the last seriesSlot created its slot. */
export function wasCreated(): bool {
  return created;
}

/** Address of a slot's `k`-th metric id. */
@inline export function idAt(slot: usize, k: u32): usize {
  return slot + 12 + <usize>k * 4;
}
