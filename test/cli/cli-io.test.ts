// untilStopped: SIGHUP reloads while the command serves, the stop signal ends the wait, and no
// reload reaches a command that is shutting down.
import { describe, expect, it } from 'vitest';
import { untilStopped } from '../../host/cli/cli-io.js';
import { fakeIo } from '../helpers/fake-io.js';

describe('untilStopped', () => {
  it('reloads on each SIGHUP until stopped, then no more', async () => {
    let hup: (() => void) | null = null;
    let stop!: (signal: string) => void;
    const io = {
      ...fakeIo(),
      onReloadRequest: (cb: () => void) => {
        hup = cb;
        return () => { hup = null; };
      },
      stopRequested: () => new Promise<string>((resolve) => (stop = resolve)),
    };
    let reloads = 0;
    const waiting = untilStopped(io, () => reloads++);
    hup!();
    hup!();
    expect(reloads).toBe(2);
    stop('SIGTERM');
    expect(await waiting).toBe('SIGTERM');
    expect(hup).toBeNull();
  });
});
