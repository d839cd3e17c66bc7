import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FREE_PORT_RANGE, freePort } from '../../host/common/free-port.js';

describe('freePort', () => {
  it('gives a bindable port below the ephemeral range, where outgoing connections do not take ports', async () => {
    for (let i = 0; i < 5; i++) {
      const port = await freePort('127.0.0.1');
      expect(port).toBeGreaterThanOrEqual(FREE_PORT_RANGE.low);
      expect(port).toBeLessThanOrEqual(FREE_PORT_RANGE.high);
      const s = createServer();
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', resolve); });
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('fails with a clear error when no port can be bound', async () => {
    await expect(freePort('192.0.2.1', 2)).rejects.toThrow(/no free port on 192\.0\.2\.1 in 20000–32767 after 2 tries/);
  });
});
