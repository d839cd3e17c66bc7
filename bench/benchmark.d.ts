// Types for the parts of the `benchmark` package (Benchmark.js 2.1.4) that bench/ uses; a local
// declaration instead of a new @types dependency, since bench/ touches only Suite and stats.
declare module 'benchmark' {
  namespace Benchmark {
    interface Options {
      maxTime?: number;
      minSamples?: number;
      minTime?: number;
      initCount?: number;
      delay?: number;
    }
    interface Stats {
      /** Relative margin of error, in percent. */
      rme: number;
      mean: number;
      sample: number[];
    }
    interface Target {
      name: string;
      hz: number;
      stats: Stats;
      error?: Error;
      count: number;
    }
    interface Event {
      type: string;
      target: Target;
    }
    class Suite {
      constructor(name?: string);
      add(name: string, fn: () => void, options?: Options): this;
      on(type: string, listener: (event: Event) => void): this;
      run(options?: { async?: boolean }): this;
    }
  }
  const Benchmark: {
    Suite: typeof Benchmark.Suite;
    options: Benchmark.Options;
  };
  export default Benchmark;
}
