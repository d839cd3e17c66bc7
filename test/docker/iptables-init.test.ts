// Tests docker/iptables-init.sh (the istio-init equivalent): argument handling and --dry-run
// everywhere; the installed rule set, idempotence and --cleanup inside a throwaway namespace.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PodNetwork, netnsUnavailableReason } from '../helpers/netns.js';

const SCRIPT = fileURLToPath(new URL('../../docker/iptables-init.sh', import.meta.url));
// The seed's istio-init arguments, as Kubernetes passes them (empty values are empty strings).
const SEED_ARGS = ['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '5005', '-d', ''];

function init(args: string[]) {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The iptables commands a dry run prints, without the leading comment. */
function dryRun(args: string[]): string[] {
  const r = init(['--dry-run', ...args]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
}

describe('iptables-init arguments and --dry-run', () => {
  it('prints the Istio-shaped rule set for the seed arguments', () => {
    const cmds = dryRun(SEED_ARGS).map((c) => c.replace(/^iptables -t nat /, ''));
    expect(cmds).toEqual([
      '-N ISTIO_INBOUND', '-N ISTIO_IN_REDIRECT', '-N ISTIO_OUTPUT', '-N ISTIO_REDIRECT',
      '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
      '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
      '-A PREROUTING -p tcp -j ISTIO_INBOUND',
      '-A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -j ISTIO_IN_REDIRECT',
      '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
      '-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
      '-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    ]);
  });

  it('reads bare options as empty values, as `kubectl describe` shows them', () => {
    const bare = dryRun(['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '-b', '5005', '-d']);
    expect(bare).toEqual(dryRun(SEED_ARGS));
  });

  it("with -b '*' captures every inbound port except the sidecar's own and -d's", () => {
    const cmds = dryRun(['-b', '*', '-d', '22, 8080,22', '-z', '15007']);
    const returns = cmds.filter((c) => c.includes('ISTIO_INBOUND -p tcp -m tcp --dport') && c.endsWith('-j RETURN'))
      .map((c) => Number(/--dport (\d+)/.exec(c)![1]));
    expect(returns).toEqual([15000, 15001, 15006, 15020, 15021, 15090, 15007, 22, 8080]);
    expect(cmds).toContain('iptables -t nat -A ISTIO_INBOUND -i lo -j RETURN');
    expect(cmds.at(-1)).toBe('iptables -t nat -A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    expect(cmds).toContain('iptables -t nat -A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15007');
    // The catch-all comes after every exclusion, or the exclusions would never be reached.
    const catchAll = cmds.indexOf('iptables -t nat -A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT');
    expect(catchAll).toBeGreaterThan(cmds.findLastIndex((c) => c.includes('--dport 8080')));
  });

  it('without -b installs no inbound capture at all', () => {
    const cmds = dryRun(['-p', '15001']);
    expect(cmds.some((c) => c.includes('PREROUTING'))).toBe(false);
    expect(cmds.some((c) => c.includes('-j ISTIO_IN_REDIRECT'))).toBe(false);
  });

  it('never captures a sidecar port listed in -b', () => {
    const r = init(['--dry-run', '-b', '5005,15021']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--dport 5005 -j ISTIO_IN_REDIRECT');
    expect(r.stdout).not.toContain('--dport 15021');
    expect(r.stderr).toMatch(/port 15021 is excluded/);
  });

  it('captures only -i ranges, after -x and -o exclusions', () => {
    const cmds = dryRun(['-i', '198.51.100.0/24,203.0.113.7', '-x', '198.51.100.9', '-o', '25,587']);
    const out = cmds.filter((c) => c.includes('-A ISTIO_OUTPUT'));
    expect(out.slice(0, 2)).toEqual([
      'iptables -t nat -A ISTIO_OUTPUT -p tcp -m tcp --dport 25 -j RETURN',
      'iptables -t nat -A ISTIO_OUTPUT -p tcp -m tcp --dport 587 -j RETURN',
    ]);
    expect(out.slice(-3)).toEqual([
      'iptables -t nat -A ISTIO_OUTPUT -d 198.51.100.9 -j RETURN',
      'iptables -t nat -A ISTIO_OUTPUT -d 198.51.100.0/24 -j ISTIO_REDIRECT',
      'iptables -t nat -A ISTIO_OUTPUT -d 203.0.113.7 -j ISTIO_REDIRECT',
    ]);
  });

  it('uses -u for -g when -g is absent, and -g when given', () => {
    expect(dryRun(['-u', '2000']).join('\n')).toMatch(/--gid-owner 2000/);
    const both = dryRun(['-u', '2000', '-g', '3000']).join('\n');
    expect(both).toMatch(/--uid-owner 2000/);
    expect(both).toMatch(/--gid-owner 3000/);
  });

  it('-m TPROXY prints Istio\'s mangle shape (DIVERT/TPROXY, mark 1337, table 133) and the outbound capture by mark', () => {
    const cmds = dryRun(['-m', 'TPROXY', '-u', '1337', '-i', '*', '-b', '5005', '-o', '53', '-x', '10.0.0.0/8']);
    // The nat table is not touched in this mode.
    expect(cmds.filter((c) => c.includes('-t nat'))).toEqual([]);
    expect(cmds).toEqual([
      ...['ISTIO_INBOUND', 'ISTIO_DIVERT', 'ISTIO_TPROXY', 'ISTIO_OUTPUT', 'ISTIO_OUT_TPROXY'].map((c) => `iptables -t mangle -N ${c}`),
      'iptables -t mangle -A ISTIO_DIVERT -j MARK --set-mark 1337',
      'iptables -t mangle -A ISTIO_DIVERT -j ACCEPT',
      'iptables -t mangle -A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006',
      'iptables -t mangle -A ISTIO_OUT_TPROXY -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15001 --on-ip 127.0.0.1',
      'iptables -t mangle -A PREROUTING -i lo -p tcp -m mark --mark 1337 -j ISTIO_OUT_TPROXY',
      'iptables -t mangle -A PREROUTING -p tcp -j ISTIO_INBOUND',
      'iptables -t mangle -A ISTIO_INBOUND -i lo -j RETURN',
      'iptables -t mangle -A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT',
      'iptables -t mangle -A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -j ISTIO_TPROXY',
      'iptables -t mangle -A OUTPUT -p tcp -j ISTIO_OUTPUT',
      'iptables -t mangle -A ISTIO_OUTPUT -p tcp -m tcp --dport 53 -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -m conntrack --ctdir REPLY -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -o lo -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -d 10.0.0.0/8 -j RETURN',
      'iptables -t mangle -A ISTIO_OUTPUT -j MARK --set-mark 1337',
      'ip -f inet rule add fwmark 1337 lookup 133',
      'ip -f inet route add local default dev lo table 133',
    ]);
    // -b '*': every port but the excluded ones, established connections diverted first.
    const all = dryRun(['-m', 'TPROXY', '-b', '*', '-d', '22']);
    const inbound = all.filter((c) => c.includes('-A ISTIO_INBOUND'));
    expect(inbound.at(-2)).toBe('iptables -t mangle -A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT');
    expect(inbound.at(-1)).toBe('iptables -t mangle -A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY');
    expect(inbound).toContain('iptables -t mangle -A ISTIO_INBOUND -p tcp -m tcp --dport 22 -j RETURN');
    // -i ranges mark only those destinations.
    expect(dryRun(['-m', 'TPROXY', '-i', '10.9.0.0/16'])).toContain('iptables -t mangle -A ISTIO_OUTPUT -d 10.9.0.0/16 -j MARK --set-mark 1337');
  });

  it('skips IPv6 ranges with a warning instead of failing the pod', () => {
    const r = init(['--dry-run', '-x', 'fd00::/8,192.0.2.9']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/IPv6 range 'fd00::\/8' ignored/);
    expect(r.stdout).toContain('-d 192.0.2.9 -j RETURN');
    expect(r.stdout).not.toContain('fd00');
    expect(r.stdout).not.toContain('ip6tables');
  });

  it('--ipv6 writes the same rules through ip6tables with ::1 and ::6, each range to its own family', () => {
    const args = ['-b', '5005', '-x', 'fd00::/8,192.0.2.9', '-i', '10.0.0.0/8,2001:db8::/32'];
    const rules = dryRun(['--ipv6', ...args]);
    const v4 = rules.filter((l) => l.startsWith('iptables '));
    const v6 = rules.filter((l) => l.startsWith('ip6tables '));
    // IPv4 is unchanged by the flag.
    expect(v4).toEqual(dryRun(args));
    expect(v6).toEqual(expect.arrayContaining([
      'ip6tables -t nat -A ISTIO_OUTPUT -s ::6/128 -o lo -j RETURN',
      'ip6tables -t nat -A ISTIO_OUTPUT ! -d ::1/128 -o lo -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
      'ip6tables -t nat -A ISTIO_OUTPUT -d ::1/128 -j RETURN',
      'ip6tables -t nat -A ISTIO_OUTPUT -d fd00::/8 -j RETURN',
      'ip6tables -t nat -A ISTIO_OUTPUT -d 2001:db8::/32 -j ISTIO_REDIRECT',
      'ip6tables -t nat -A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -j ISTIO_IN_REDIRECT',
    ]));
    expect(v6.join('\n')).not.toMatch(/127\.0\.0|192\.0\.2|10\.0\.0/);
    expect(v4.join('\n')).not.toMatch(/fd00|2001:db8|::/);
    // Istio's environment switch is the flag.
    const env = spawnSync('bash', [SCRIPT, '--dry-run', ...args], { encoding: 'utf8', env: { ...process.env, ENABLE_INBOUND_IPV6: 'true' } });
    expect(env.stdout.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(rules);
  });

  it('--ipv6 -m TPROXY marks and diverts IPv6 to ::1 with its own ip -f inet6 rule and route', () => {
    const v6 = dryRun(['--ipv6', '-m', 'TPROXY', '-b', '5005']).filter((l) => !l.startsWith('iptables ') && !l.startsWith('ip -f inet '));
    expect(v6).toEqual(expect.arrayContaining([
      'ip6tables -t mangle -A ISTIO_TPROXY ! -d ::1/128 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006',
      'ip6tables -t mangle -A ISTIO_OUT_TPROXY -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15001 --on-ip ::1',
      'ip6tables -t mangle -A ISTIO_OUTPUT -d ::1/128 -j RETURN',
      'ip6tables -t mangle -A ISTIO_OUTPUT -j MARK --set-mark 1337',
      'ip -f inet6 rule add fwmark 1337 lookup 133',
      'ip -f inet6 route add local default dev lo table 133',
      'ip -f inet6 addr replace ::6/128 dev lo',
    ]));
    expect(v6.every((l) => l.startsWith('ip6tables ') || l.startsWith('ip -f inet6 '))).toBe(true);
  });

  it('says what is missing when --ipv6 is asked and ip6tables is absent', () => {
    const r = spawnSync('bash', [SCRIPT, '--ipv6', '-b', '5005'], {
      encoding: 'utf8', env: { ...process.env, WASMESH_IP6TABLES: 'wasmesh-no-such-ip6tables' },
    });
    expect(r.status).toBe(1);
    // Root finds iptables and stops at ip6tables; without root the IPv4 table is refused first.
    expect(r.stderr).toMatch(process.getuid?.() === 0 ? /error\[INIT_IP6TABLES_MISSING\].*WASMESH_IP6TABLES/ : /error\[INIT_IPTABLES_(FAILED|MISSING)\]/);
  });

  it.each([
    [['-p', '0'], 'INIT_BAD_PORT', /-p '0'/],
    [['-p', '65536'], 'INIT_BAD_PORT', /-p '65536'/],
    [['-z', 'http'], 'INIT_BAD_PORT', /-z 'http'/],
    [['-p', '15006'], 'INIT_BAD_PORT', /-p and -z are both 15006/],
    [['-b', '5005,x'], 'INIT_BAD_PORT', /-b 'x'/],
    [['-d', '*'], 'INIT_BAD_PORT', /only -b accepts it/],
    [['-i', '10.0.0.0/33'], 'INIT_BAD_CIDR', /-i '10.0.0.0\/33'/],
    [['-i', '256.1.1.1'], 'INIT_BAD_CIDR', /-i '256.1.1.1'/],
    [['-x', '*'], 'INIT_BAD_CIDR', /only -i accepts it/],
    [['--ipv6', '-x', 'fd00::/129'], 'INIT_BAD_CIDR', /-x 'fd00::\/129': not an IPv6/],
    [['--ipv6', '-i', 'fd00:::1'], 'INIT_BAD_CIDR', /-i 'fd00:::1'/],
    [['-i', '1::2::3'], 'INIT_BAD_CIDR', /-i '1::2::3'/],
    [['-i', 'fe80::1%eth0'], 'INIT_BAD_CIDR', /-i 'fe80::1%eth0'/],
    [['-u', 'istio'], 'INIT_BAD_ID', /-u 'istio'/],
    [['-m', 'tproxy'], 'INIT_BAD_MODE', /must be REDIRECT or TPROXY/],
    [['-m', 'redirect'], 'INIT_BAD_MODE', /-m 'redirect'/],
    [['-q', '80'], 'INIT_BAD_FLAG', /unknown option '-q'/],
    [['--cleanup'], 'INIT_BAD_FLAG', /exclude each other/],
  ])('rejects %j with %s', (args, code, detail) => {
    const r = init(['--dry-run', ...args]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error[${code}]`);
    expect(r.stderr).toMatch(detail);
  });

  it('says what is missing when the iptables binary is absent', () => {
    const r = spawnSync('bash', [SCRIPT, '-b', '5005'], {
      encoding: 'utf8', env: { ...process.env, WASMESH_IPTABLES: 'wasmesh-no-such-iptables' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error[INIT_IPTABLES_MISSING]');
  });

  it('prints usage on -h', () => {
    const r = init(['-h']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: wasmesh-init/);
  });
});

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping iptables-init namespace tests: ${reason}`);

describe.skipIf(reason !== null)('iptables-init in a network namespace', () => {
  const net = new PodNetwork();
  const inPod = (args: string[], allowFail = false) =>
    net.exec(net.pod, ['bash', SCRIPT, ...args], { allowFail });
  /** The nat table's rules (-A lines and our chain declarations), without counters or comments. */
  const natRules = () => net.exec(net.pod, ['iptables-save', '-t', 'nat']).stdout
    .split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':ISTIO'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));

  beforeAll(() => net.create());
  afterAll(() => net.destroy());

  it('installs the seed rule set, seen by iptables-save', () => {
    const r = inPod(SEED_ARGS);
    expect(r.stdout).toMatch(/capturing \(REDIRECT\) outbound TCP -> :15001, inbound ports \[5005\] -> :15006/);
    const rules = natRules();
    for (const chain of ['ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT']) {
      expect(rules).toContain(`:${chain} -`);
    }
    expect(rules).toEqual(expect.arrayContaining([
      '-A PREROUTING -p tcp -j ISTIO_INBOUND',
      '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
      '-A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
      '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
      '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    ]));
    // What was installed is exactly what --dry-run announced.
    const announced = dryRun(SEED_ARGS).filter((c) => c.includes(' -A '))
      .map((c) => c.replace(/^iptables -t nat /, ''));
    expect(rules.filter((l) => l.startsWith('-A ')).sort()).toEqual(announced.sort());
  });

  it('is idempotent: a second run leaves the same rules, none duplicated', () => {
    const before = natRules();
    inPod(SEED_ARGS);
    const after = natRules();
    expect(after).toEqual(before);
    expect(new Set(after).size).toBe(after.length);
  });

  it('replaces a previous rule set with different arguments instead of adding to it', () => {
    inPod(['-b', '*', '-d', '8080']);
    const rules = natRules();
    expect(rules).not.toContain('-A ISTIO_INBOUND -p tcp -m tcp --dport 5005 -j ISTIO_IN_REDIRECT');
    expect(rules).toContain('-A ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j RETURN');
    expect(rules.filter((l) => l === '-A PREROUTING -p tcp -j ISTIO_INBOUND')).toHaveLength(1);
    inPod(SEED_ARGS);
  });

  it('--dry-run changes nothing', () => {
    const before = natRules();
    const r = inPod(['--dry-run', '-b', '*', '-p', '16001']);
    expect(r.stdout).toContain('--to-ports 16001');
    expect(natRules()).toEqual(before);
  });

  it('--cleanup removes the chains and every jump into them, even duplicated ones', () => {
    // A stray duplicate jump, as a hand-run or older script might leave.
    net.exec(net.pod, ['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-j', 'ISTIO_OUTPUT']);
    // An unrelated rule of someone else's must survive.
    net.exec(net.pod, ['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'udp', '--dport', '53', '-j', 'RETURN']);
    inPod(['--cleanup']);
    const rules = natRules();
    expect(rules.filter((l) => l.includes('ISTIO'))).toEqual([]);
    expect(rules).toContain('-A OUTPUT -p udp -m udp --dport 53 -j RETURN');
    // Cleaning an already clean table is fine too.
    expect(inPod(['--cleanup']).status).toBe(0);
    net.exec(net.pod, ['iptables', '-t', 'nat', '-F', 'OUTPUT']);
  });

  it('-m TPROXY installs the mangle rules and the ip rule/route; REDIRECT replaces them; --cleanup removes both', () => {
    const mangleRules = () => net.exec(net.pod, ['iptables-save', '-t', 'mangle']).stdout
      .split('\n').filter((l) => l.startsWith('-A ')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
    const ipRules = () => net.exec(net.pod, ['ip', '-f', 'inet', 'rule', 'show']).stdout;
    const table133 = () => net.exec(net.pod, ['ip', '-f', 'inet', 'route', 'show', 'table', '133']).stdout.trim();
    const args = ['-m', 'TPROXY', '-u', '1337', '-i', '*', '-b', '5005'];
    const r = inPod(args);
    expect(r.stdout).toMatch(/capturing \(TPROXY\) outbound TCP -> :15001/);
    const announced = dryRun(args).filter((c) => c.includes(' -A ')).map((c) => c.replace(/^iptables -t mangle /, ''));
    // iptables-save writes --tproxy-mark as hex, the mark as hex, and `-p tcp -m tcp` in its own order.
    const normal = (l: string) => l.replace('--tproxy-mark 1337/0xffffffff', '--tproxy-mark 0x539/0xffffffff').replace(/--set-mark 1337$/, '--set-xmark 0x539/0xffffffff').replace('--mark 1337', '--mark 0x539').replace('-j TPROXY --tproxy-mark 0x539/0xffffffff --on-port 15001 --on-ip 127.0.0.1', '-j TPROXY --on-port 15001 --on-ip 127.0.0.1 --tproxy-mark 0x539/0xffffffff').replace('-j TPROXY --tproxy-mark 0x539/0xffffffff --on-port 15006', '-j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x539/0xffffffff');
    expect(mangleRules().map(normal).sort()).toEqual(announced.map(normal).sort());
    expect(ipRules()).toMatch(/fwmark 0x539 lookup 133/);
    expect(table133()).toBe('local default dev lo scope host');
    // The nat table is left alone in this mode.
    expect(natRules().filter((l) => l.includes('ISTIO'))).toEqual([]);
    // Idempotent: a second run, the same rules, one ip rule.
    inPod(args);
    expect(ipRules().match(/lookup 133/g)).toHaveLength(1);
    // REDIRECT after TPROXY: the mangle rules and the ip rule go, the nat rules come.
    inPod(SEED_ARGS);
    expect(mangleRules().filter((l) => l.includes('ISTIO'))).toEqual([]);
    expect(ipRules()).not.toMatch(/lookup 133/);
    expect(natRules()).toContain('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    inPod(args);
    inPod(['--cleanup']);
    expect(mangleRules().filter((l) => l.includes('ISTIO'))).toEqual([]);
    expect(ipRules()).not.toMatch(/lookup 133/);
    expect(table133()).toBe('');
  }, 120_000);

  it('--ipv6 installs the ip6tables rules the dry run announced, in both modes, and --cleanup removes them', () => {
    const rules6 = (table: string) => net.exec(net.pod, ['ip6tables-save', '-t', table]).stdout
      .split('\n').filter((l) => l.startsWith('-A ')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
    const args = ['--ipv6', ...SEED_ARGS];
    const r = inPod(args);
    expect(r.stdout).toMatch(/capturing \(REDIRECT, IPv4 and IPv6\)/);
    const announced = dryRun(args).filter((c) => c.startsWith('ip6tables -t nat -A ')).map((c) => c.replace(/^ip6tables -t nat /, ''));
    expect(announced.length).toBeGreaterThan(8);
    expect(rules6('nat').sort()).toEqual(announced.sort());
    // ::6 is the pod's, for the proxy's inbound passthrough to bind.
    expect(net.exec(net.pod, ['ip', '-6', 'addr', 'show', 'dev', 'lo']).stdout).toMatch(/inet6 ::6\/128/);
    // IPv4 is what it was without the flag.
    expect(natRules()).toContain('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN');
    const tproxy = ['--ipv6', '-m', 'TPROXY', '-u', '1337', '-i', '*', '-b', '5005'];
    inPod(tproxy);
    expect(rules6('nat').filter((l) => l.includes('ISTIO'))).toEqual([]);
    expect(rules6('mangle')).toEqual(expect.arrayContaining([
      '-A ISTIO_OUTPUT -d ::1/128 -j RETURN',
      '-A ISTIO_OUT_TPROXY -p tcp -j TPROXY --on-port 15001 --on-ip ::1 --tproxy-mark 0x539/0xffffffff',
    ]));
    expect(net.exec(net.pod, ['ip', '-f', 'inet6', 'rule', 'show']).stdout).toMatch(/fwmark 0x539 lookup 133/);
    expect(net.exec(net.pod, ['ip', '-f', 'inet6', 'route', 'show', 'table', '133']).stdout.trim()).toMatch(/^local default dev lo/);
    // A later run without --ipv6 takes the IPv6 rules away too (they were this script's).
    inPod(SEED_ARGS);
    expect(rules6('mangle').filter((l) => l.includes('ISTIO'))).toEqual([]);
    expect(net.exec(net.pod, ['ip', '-f', 'inet6', 'rule', 'show']).stdout).not.toMatch(/lookup 133/);
    inPod(args);
    inPod(['--cleanup']);
    expect(rules6('nat').filter((l) => l.includes('ISTIO'))).toEqual([]);
    expect(natRules().filter((l) => l.includes('ISTIO'))).toEqual([]);
    inPod(SEED_ARGS);
  }, 120_000);

  it('fails cleanly with INIT_IPTABLES_FAILED when iptables refuses a rule, leaving nothing behind', () => {
    // A uid so large the owner match rejects it: a real iptables error at apply time.
    const r = inPod(['-u', '99999999999', '-b', '5005'], true);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error[INIT_IPTABLES_FAILED]');
    expect(natRules().filter((l) => l.includes('ISTIO'))).toEqual([]);
  });
});
