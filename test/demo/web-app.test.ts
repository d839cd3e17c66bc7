// The demo app answers like the seed's jweissig/istio-demo image.
import { afterEach, describe, expect, it } from 'vitest';
import { WebApp } from '../../host/demo/web-app.js';
import { ListenError } from '../../host/common/listen-error.js';

const apps: WebApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('WebApp', () => {
  it('answers GET / with its version and 404 elsewhere', async () => {
    const app = new WebApp({ version: 'v0.2', port: 0 });
    apps.push(app);
    await app.listen();
    expect(app.port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${app.port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Version: v0.2');
    expect((await fetch(`http://127.0.0.1:${app.port}/other`)).status).toBe(404);
  });

  it('names the port when it is already in use', async () => {
    const a = new WebApp({ version: 'v0.1', port: 0, name: 'web-v1' });
    apps.push(a);
    await a.listen();
    const b = new WebApp({ version: 'v0.1', port: a.port, name: 'web-v1' });
    const err = await b.listen().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).code).toBe('port_in_use');
    expect((err as Error).message).toBe(`demo app web-v1 port ${a.port} on 127.0.0.1 is already in use`);
  });
});
