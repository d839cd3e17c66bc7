// Polls `probe` every 100 ms until it gives a value (not undefined), for state another process
// reaches in its own time (Envoy's stats after a request, a scrape): the value, or an error naming
// `what` and the probe's last failure once `ms` have passed.
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
