// Certificate files watched for rewrites: a change in the directory of any of them (a file
// rewritten in place, replaced by rename, or Kubernetes' `..data` symlink swapped when a secret
// is updated) calls `onChange` once the writes have settled, so the holder can build a new TLS
// context for new connections. The watch never keeps the process alive.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Writes settle: a rewrite of both tls.crt and tls.key is seen as one change. */
export const CREDENTIAL_SETTLE_MS = 100;

export class WatchedCredential {
  readonly #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  /** Watches the directories of `paths` (each once); a directory that cannot be watched throws. */
  constructor(paths: readonly string[], onChange: () => void, settleMs = CREDENTIAL_SETTLE_MS) {
    const dirs = new Map<string, Set<string>>();
    for (const p of paths) {
      const d = dirname(p);
      if (!dirs.has(d)) dirs.set(d, new Set());
      dirs.get(d)!.add(basename(p));
    }
    for (const dir of dirs.keys()) {
      const w = watch(dir, { persistent: false }, () => {
        if (this.#closed) return;
        if (this.#timer !== null) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = null;
          if (!this.#closed) onChange();
        }, settleMs);
        this.#timer.unref();
      });
      w.on('error', () => {});
      this.#watchers.push(w);
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
  }
}
