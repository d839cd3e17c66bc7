// The admin API's Envoy-compatible endpoints over a real loopback socket: /server_info,
// /listeners (text and JSON), POST-only /logging, /reset_counters and /quitquitquit with Envoy's
// 405 wording for any other method, and /logging's level changes and refusals.
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer, type AdminSources } from '../../host/admin/admin-server.js';
import { LogLevels } from '../../host/common/log-levels.js';

let servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(sources: Partial<AdminSources>): Promise<string> {
  const full: AdminSources = {
    ready: () => true,
    configDump: () => ({}),
    envoyConfigDump: () => ({ configs: [] }),
    stats: () => [],
    clustersText: () => '',
    clustersJson: () => ({ clusters: [] }),
    envoyClustersJson: () => ({ cluster_statuses: [] }),
    ...sources,
  };
  const s = new AdminServer({ port: 0, sources: full });
  servers.push(s);
  await s.listen();
  return `http://127.0.0.1:${s.port}`;
}

const call = async (url: string, method = 'GET') => {
  const res = await fetch(url, { method });
  return { status: res.status, allow: res.headers.get('allow'), body: await res.text() };
};

describe('Envoy-compatible admin endpoints', () => {
  it('/listeners: name::address:port per listener, and Envoy\'s listener_statuses JSON', async () => {
    const b = await start({ listeners: () => [{ name: 'outbound_15001', host: '127.0.0.1', port: 15001 }, { name: 'virtualInbound', host: '0.0.0.0', port: 15006 }] });
    expect((await call(`${b}/listeners`)).body).toBe('outbound_15001::127.0.0.1:15001\nvirtualInbound::0.0.0.0:15006\n');
    expect(JSON.parse((await call(`${b}/listeners?format=json`)).body)).toEqual({
      listener_statuses: [
        { name: 'outbound_15001', local_address: { socket_address: { address: '127.0.0.1', port_value: 15001 } } },
        { name: 'virtualInbound', local_address: { socket_address: { address: '0.0.0.0', port_value: 15006 } } },
      ],
    });
    expect((await call(`${b}/listeners?format=yaml`)).status).toBe(400);
  });

  it('/server_info answers the source\'s JSON', async () => {
    const b = await start({ serverInfo: () => ({ state: 'LIVE', hot_restart_version: 'disabled' }) });
    expect(JSON.parse((await call(`${b}/server_info`)).body)).toEqual({ state: 'LIVE', hot_restart_version: 'disabled' });
  });

  it('state-changing endpoints take POST only, with Envoy\'s 405; read endpoints keep answering GET only', async () => {
    const b = await start({ logLevels: new LogLevels(['admin']), resetCounters: () => {}, quit: () => {} });
    for (const path of ['/logging', '/reset_counters', '/quitquitquit']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        expect([path, method, await call(`${b}${path}`, method)]).toEqual([path, method, { status: 405, allow: 'POST', body: `Method ${method} not allowed, POST required.\n` }]);
      }
    }
    expect((await call(`${b}/server_info`, 'POST')).status).toBe(404);
    expect((await call(`${b}/stats`, 'POST')).status).toBe(405);
  });

  it('a POST that names a web page\'s Origin is refused (a page may POST to loopback): nothing is reset or quit', async () => {
    let calls = 0;
    const b = await start({ resetCounters: () => void calls++, quit: () => void calls++, logLevels: new LogLevels(['admin']) });
    for (const path of ['/reset_counters', '/quitquitquit', '/logging?level=off']) {
      const res = await fetch(`${b}${path}`, { method: 'POST', headers: { origin: 'http://evil.example' } });
      expect([path, res.status, await res.text()]).toEqual([path, 403, `admin API: ${path.split('?')[0]} from a web page (Origin "http://evil.example") is refused\n`]);
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(0);
  });

  it('POST /reset_counters calls the source once and answers OK', async () => {
    let resets = 0;
    const b = await start({ resetCounters: () => void resets++ });
    expect(await call(`${b}/reset_counters`, 'POST')).toEqual({ status: 200, allow: null, body: 'OK\n' });
    expect(resets).toBe(1);
  });

  it('POST /quitquitquit answers OK first, then quits', async () => {
    let quit!: () => void;
    const quitted = new Promise<void>((r) => (quit = r));
    const b = await start({ quit: () => quit() });
    expect(await call(`${b}/quitquitquit`, 'POST')).toEqual({ status: 200, allow: null, body: 'OK\n' });
    await quitted;
  });

  it('POST /logging lists the loggers; ?level= sets all, ?<logger>= one, ?paths= several; a bad name or level changes nothing', async () => {
    const levels = new LogLevels(['admin', 'config']);
    const b = await start({ logLevels: levels });
    expect((await call(`${b}/logging`, 'POST')).body).toBe('active loggers:\n  admin: info\n  config: info\n');
    expect((await call(`${b}/logging?level=debug`, 'POST')).body).toBe('active loggers:\n  admin: debug\n  config: debug\n');
    expect((await call(`${b}/logging?config=error`, 'POST')).body).toBe('active loggers:\n  admin: debug\n  config: error\n');
    expect((await call(`${b}/logging?paths=admin:off,config:warning`, 'POST')).body).toBe('active loggers:\n  admin: off\n  config: warning\n');
    for (const [q, err] of [['level=loud', "unknown logger level 'loud'"], ['nosuch=info', "unknown logger name 'nosuch'"], ['config=info&admin=shout', "unknown logger level 'shout'"], ['paths=admin:info,x:info', "unknown logger name 'x'"]] as const) {
      const r = await call(`${b}/logging?${q}`, 'POST');
      expect([q, r.status, r.body.split('\n')[0]]).toEqual([q, 400, `error: ${err}`]);
      expect(r.body).toContain('levels: trace debug info warning error critical off');
    }
    expect(levels.entries()).toEqual([['admin', 'off'], ['config', 'warning']]);
  });

  it('a gated log drops lines below its logger\'s level', () => {
    const levels = new LogLevels(['config']);
    const lines: string[] = [];
    const log = levels.gate('config', (level, m) => lines.push(`${level} ${m}`));
    log('info', 'a');
    levels.set('config', 'warning');
    log('info', 'b');
    log('warn', 'c');
    levels.set('config', 'off');
    log('error', 'd');
    levels.set('config', 'trace');
    log('info', 'e');
    expect(lines).toEqual(['info a', 'warn c', 'info e']);
  });
});
