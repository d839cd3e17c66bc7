// A microtask without Node's `queueMicrotask` bookkeeping, for callbacks the data path schedules
// on every request (the HTTP/1 listener's head flush). Node's `queueMicrotask` wraps each callback
// in an AsyncResource and a bound function for async_hooks (~210 B of heap and an async id per
// call, measured with the sampling heap profiler on the proxy under load); a reaction on one
// already-resolved promise runs at the same point (the microtask checkpoint after the current
// callback) and allocates only the reaction and its promise. What is lost is the async_hooks
// context of the callback, which the proxy does not use. A callback that throws rejects that
// promise: an unhandled rejection, which Node (--unhandled-rejections=throw, the default) raises
// as an uncaught exception, as it would queueMicrotask's; so `fn` should not throw.
const RESOLVED = Promise.resolve();

/** Runs `fn` at the next microtask checkpoint; `fn` must not depend on async_hooks context. */
export function enqueueMicrotask(fn: () => void): void {
  void RESOLVED.then(fn);
}
