// Config-load warnings reported once per process and load: every proxy that reads the same
// files gets the same warnings about them, and where several proxies share a process (the
// demo's gateway and sidecars) each printed them, so seed 003's TLS warning showed 12 times
// per reload (3 rules × 4 proxies). One WarningDedupe shared by those proxies prints each
// distinct warning once per load; a later load (a change to the files) reports again.

export class WarningDedupe {
  readonly #print: (warning: string) => void;
  /** The load being reported, and what of it was printed. */
  #loadKey: string | null = null;
  readonly #printed = new Set<string>();

  /** `print` writes one warning (the process's log, not one proxy's: the warning is shared). */
  constructor(print: (warning: string) => void) {
    this.#print = print;
  }

  /**
   * One proxy's warnings for the load `loadKey` (ConfigManager's key: equal for proxies that read
   * the same resources). Those already printed for this load are skipped. A different key is a
   * new load: everything in it is printed again, once. Only the last load is remembered, since
   * the proxies of a process reload together from the same files.
   */
  report(warnings: readonly string[], loadKey: string): void {
    if (loadKey !== this.#loadKey) {
      this.#loadKey = loadKey;
      this.#printed.clear();
    }
    for (const w of warnings) {
      if (this.#printed.has(w)) continue;
      this.#printed.add(w);
      this.#print(w);
    }
  }
}
