// What the control plane has for each proxy: per resource type, the resources (name, version,
// encoded body) and a version of the type's whole set. A cache of snapshots per proxy id with
// watchers, so that an ADS stream learns which types of its proxy changed and pushes those only.

/** One resource as xDS carries it: a google.protobuf.Any. */
export interface XdsAny {
  type_url: string;
  value: Uint8Array;
}

export interface XdsResource {
  name: string;
  /** Changes whenever the resource's bytes change (a hash of them). */
  version: string;
  body: XdsAny;
}

/** One type's resources for one proxy. */
export interface TypeSnapshot {
  /** The version of the set as a whole (SotW version_info; delta system_version_info). */
  version: string;
  resources: ReadonlyMap<string, XdsResource>;
  /** Wildcard types (LDS, CDS, wasmesh's) send every resource when no names are asked for. */
  wildcard: boolean;
}

export type ProxySnapshot = ReadonlyMap<string, TypeSnapshot>;

/** The types whose version differs between two snapshots (a type present in only one counts). */
export function changedTypes(before: ProxySnapshot | undefined, after: ProxySnapshot): string[] {
  const out: string[] = [];
  for (const [type, t] of after) if (before?.get(type)?.version !== t.version) out.push(type);
  if (before) for (const type of before.keys()) if (!after.has(type)) out.push(type);
  return out;
}

export type SnapshotListener = (types: readonly string[]) => void;

/** Snapshots by proxy id; streams watch their proxy's. */
export class SnapshotCache {
  readonly #snapshots = new Map<string, ProxySnapshot>();
  readonly #watchers = new Map<string, Set<SnapshotListener>>();

  get(proxyId: string): ProxySnapshot | undefined {
    return this.#snapshots.get(proxyId);
  }

  /** Sets a proxy's snapshot; its watchers hear which types changed (none: nothing is said). */
  set(proxyId: string, snapshot: ProxySnapshot): readonly string[] {
    const types = changedTypes(this.#snapshots.get(proxyId), snapshot);
    this.#snapshots.set(proxyId, snapshot);
    if (types.length > 0) for (const w of this.#watchers.get(proxyId) ?? []) w(types);
    return types;
  }

  delete(proxyId: string): void {
    this.#snapshots.delete(proxyId);
  }

  watch(proxyId: string, listener: SnapshotListener): () => void {
    let set = this.#watchers.get(proxyId);
    if (!set) this.#watchers.set(proxyId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.#watchers.delete(proxyId);
    };
  }

  /** Proxy ids with at least one watching stream. */
  watched(): string[] {
    return [...this.#watchers.keys()];
  }
}
