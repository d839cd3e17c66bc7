// The loop behind the control plane's writers to the API server (root-cert ConfigMaps, the
// webhook's caBundle): `poke()` asks for a reconcile; pokes within `quietMs` run one pass; passes
// never overlap (a poke during a pass runs another after it); a pass that throws is retried with
// exponential backoff (as client-go's workqueue rate limiter), its error logged once until a pass
// succeeds again.
export interface ReconcileLoopOptions {
  name: string;
  pass: () => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  quietMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

export class ReconcileLoop {
  readonly #o: ReconcileLoopOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #failures = 0;
  #lastError: string | null = null;
  #closed = false;
  passes = 0;
  errors = 0;

  constructor(opts: ReconcileLoopOptions) {
    this.#o = opts;
  }

  /** The last pass's error (null after a pass succeeded). */
  get lastError(): string | null {
    return this.#lastError;
  }

  poke(delayMs = this.#o.quietMs ?? 50): void {
    if (this.#closed) return;
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#run().finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
    }, delayMs);
  }

  /** Resolves once no pass is running or pending (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#running !== null || this.#timer !== null) {
      await (this.#running ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  async #run(): Promise<void> {
    try {
      await this.#o.pass();
      this.passes++;
      this.#failures = 0;
      if (this.#lastError !== null) this.#o.log('info', `${this.#o.name}: working again`);
      this.#lastError = null;
    } catch (err) {
      this.errors++;
      const message = (err as Error).message;
      if (message !== this.#lastError) this.#o.log('warn', `${this.#o.name}: ${message}; retrying`);
      this.#lastError = message;
      const { initialMs, maxMs } = this.#o.backoff ?? { initialMs: 500, maxMs: 30_000 };
      const ms = Math.min(maxMs, initialMs * 2 ** this.#failures++);
      if (!this.#closed) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.poke(0);
        }, ms);
      }
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
