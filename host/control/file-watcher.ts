// Watches the folders that hold the configuration and calls back once per burst of changes
// (debounced), surviving editors that save by rename and folders deleted and made again.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** What to watch in one folder: every entry, or only the named ones. */
export type WatchFilter = 'any' | Set<string>;

export interface FileWatcherOptions {
  /** Called once after a burst of events has been quiet for `debounceMs`. */
  onChange: (paths: string[]) => void;
  /** Quiet time before calling back (editors write several events per save). */
  debounceMs?: number;
  /** Longest a steady stream of events may hold the callback back. */
  maxWaitMs?: number;
  /** How often to look for watched folders that are missing or were replaced. */
  pollMs?: number;
}

interface DirWatch {
  watcher: FSWatcher | null;
  /** Inode of the folder when watched: a different one means it was replaced. */
  ino: number;
  filter: WatchFilter;
}

/**
 * Watches folders rather than files: an editor that writes a temp file and renames it over
 * the original leaves a file watch pointing at the old inode, while the folder sees the rename.
 */
export class FileWatcher {
  readonly #onChange: (paths: string[]) => void;
  readonly #debounceMs: number;
  readonly #maxWaitMs: number;
  readonly #pollMs: number;
  readonly #dirs = new Map<string, DirWatch>();
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #firstEventAt = 0;
  #poll: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: FileWatcherOptions) {
    this.#onChange = options.onChange;
    this.#debounceMs = options.debounceMs ?? 100;
    this.#maxWaitMs = options.maxWaitMs ?? 1000;
    this.#pollMs = options.pollMs ?? 1000;
  }

  /**
   * Sets what is watched: `dirs` maps a folder to `any` (every entry counts) or to the names of
   * the entries that count. Existing watches are kept, missing ones added, stale ones closed.
   */
  sync(dirs: Map<string, WatchFilter>): void {
    if (this.#closed) return;
    for (const [dir, w] of this.#dirs) {
      if (!dirs.has(dir)) {
        w.watcher?.close();
        this.#dirs.delete(dir);
      }
    }
    for (const [dir, filter] of dirs) {
      const known = this.#dirs.get(dir);
      if (known) known.filter = filter;
      else this.#dirs.set(dir, { watcher: null, ino: -1, filter });
    }
    this.#refresh();
  }

  /** Folders currently watched (for tests and the admin index). */
  get watchedDirs(): string[] {
    return [...this.#dirs].filter(([, w]) => w.watcher !== null).map(([d]) => d);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#poll) clearInterval(this.#poll);
    this.#timer = null;
    this.#poll = null;
    for (const w of this.#dirs.values()) w.watcher?.close();
    this.#dirs.clear();
  }

  /** (Re)opens watches on folders that appeared or were replaced since the last look. */
  #refresh(): void {
    let missing = false;
    for (const [dir, w] of this.#dirs) {
      const ino = inodeOf(dir);
      if (ino === -1) {
        // The folder is gone: its watch is dead; the poll below notices when it comes back.
        if (w.watcher) {
          w.watcher.close();
          w.watcher = null;
          this.#event(dir, null);
        }
        // -2: seen missing, so its return counts as a change (-1: never looked at yet).
        w.ino = -2;
        missing = true;
        continue;
      }
      if (w.watcher && w.ino === ino) continue;
      const replaced = w.watcher !== null || w.ino !== -1;
      w.watcher?.close();
      w.watcher = this.#open(dir);
      w.ino = ino;
      if (w.watcher === null) missing = true;
      // A folder that came back (or was swapped) may hold new content: treat it as a change.
      else if (replaced) this.#event(dir, null);
    }
    if (missing && !this.#poll) {
      this.#poll = setInterval(() => this.#refresh(), this.#pollMs);
      this.#poll.unref();
    } else if (!missing && this.#poll) {
      clearInterval(this.#poll);
      this.#poll = null;
    }
  }

  #open(dir: string): FSWatcher | null {
    try {
      const watcher = watch(dir, { persistent: false }, (_kind, name) => this.#event(dir, name === null ? null : String(name)));
      // Errors (the folder removed under us) close this watch; the refresh reopens it.
      watcher.on('error', () => {
        const w = this.#dirs.get(dir);
        if (w && w.watcher === watcher) {
          watcher.close();
          w.watcher = null;
          w.ino = -1;
          this.#event(dir, null);
          this.#refresh();
        }
      });
      return watcher;
    } catch {
      return null;
    }
  }

  #event(dir: string, name: string | null): void {
    if (this.#closed) return;
    const w = this.#dirs.get(dir);
    if (!w) return;
    // Kubernetes ConfigMap volumes swap a `..data` symlink: entries starting with `..` count too.
    if (name !== null && w.filter !== 'any' && !w.filter.has(name) && !name.startsWith('..')) return;
    this.#pending.add(name === null ? dir : resolve(dir, name));
    const now = Date.now();
    if (this.#timer === null) this.#firstEventAt = now;
    else clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#firstEventAt + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => this.#fire(), wait);
  }

  #fire(): void {
    this.#timer = null;
    const paths = [...this.#pending];
    this.#pending = new Set();
    if (this.#closed) return;
    this.#refresh();
    this.#onChange(paths);
  }
}

function inodeOf(dir: string): number {
  try {
    const st = statSync(dir);
    return st.isDirectory() ? st.ino : -1;
  } catch {
    return -1;
  }
}

/**
 * The folders to watch for a set of config sources and the files last read from them: a source
 * folder and the folders of files read counts every entry; a single-file source's folder counts
 * only that file's name.
 */
export function watchPlan(sources: string[], files: string[]): Map<string, WatchFilter> {
  const plan = new Map<string, WatchFilter>();
  const named = (dir: string, name: string) => {
    const cur = plan.get(dir);
    if (cur === 'any') return;
    const set = cur ?? new Set<string>();
    set.add(name);
    plan.set(dir, set);
  };
  for (const raw of sources) {
    const src = resolve(raw);
    let isDir: boolean;
    try {
      isDir = statSync(src).isDirectory();
    } catch {
      // A source that does not exist yet: watch its folder for it to appear.
      named(dirname(src), basename(src));
      continue;
    }
    if (isDir) plan.set(src, 'any');
    else named(dirname(src), basename(src));
  }
  for (const raw of files) {
    const file = resolve(raw);
    const dir = dirname(file);
    // Files found inside a source folder (or its sub-folders): their folder counts in full.
    if (sources.some((s) => isInside(resolve(s), dir) && plan.get(resolve(s)) === 'any')) plan.set(dir, 'any');
    else named(dir, basename(file));
  }
  return plan;
}

function isInside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}
