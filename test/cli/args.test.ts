// Command-line parsing: flags as data, values, repeats, and the errors that exit 2.
import { describe, expect, it } from 'vitest';
import { formatHelp, parseArgs, hostPortFlag, portFlag, UsageError, type CommandSpec } from '../../host/cli/args.js';

const SPEC: CommandSpec = {
  command: 'wasmesh test',
  summary: 'a test command',
  flags: [
    { name: 'file', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir>', help: 'files' },
    { name: 'listen', kind: 'string', valueName: '<host:port>', help: 'listen' },
    { name: 'quiet', kind: 'boolean', help: 'quiet' },
  ],
};

function usage(argv: string[]): string {
  try {
    parseArgs(SPEC, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('usage');
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads repeated, long, short, inline and boolean flags', () => {
    const r = parseArgs(SPEC, ['-f', 'a.yaml', '--file=b', '-f=c', '--listen', '127.0.0.1:1', '--quiet']);
    expect(r).toEqual({ help: false, values: { file: ['a.yaml', 'b', 'c'], listen: '127.0.0.1:1', quiet: true } });
  });

  it('sees --help and -h anywhere', () => {
    expect(parseArgs(SPEC, ['--listen', 'x:1', '-h']).help).toBe(true);
    expect(parseArgs(SPEC, ['--help']).help).toBe(true);
  });

  it('rejects unknown flags, naming them and pointing at --help', () => {
    expect(usage(['--lissen', 'x:1'])).toBe('wasmesh test: unknown flag --lissen (see `wasmesh test --help`)');
    expect(usage(['-x'])).toContain('unknown flag -x');
  });

  it('rejects a missing value, including when the next word is a flag', () => {
    expect(usage(['--listen'])).toContain('flag --listen needs a value <host:port>');
    expect(usage(['-f', '--quiet'])).toContain('flag -f needs a value');
    expect(usage(['--listen='])).toContain('needs a non-empty value');
  });

  it('rejects positional arguments, values on booleans and a repeated single flag', () => {
    expect(usage(['stray'])).toContain('unexpected argument "stray"');
    expect(usage(['--quiet=yes'])).toContain('takes no value');
    expect(usage(['--listen', 'a:1', '--listen', 'b:2'])).toContain('given more than once');
  });

  it('formats help from the specs', () => {
    const help = formatHelp(SPEC);
    expect(help).toContain('Usage: wasmesh test [flags]');
    expect(help).toMatch(/-f, --file <file\|dir>\s+files \(repeatable\)/);
    expect(help).toMatch(/--quiet\s+quiet/);
    expect(help).toMatch(/-h, --help\s+show this help/);
  });
});

describe('hostPortFlag / portFlag', () => {
  it('parses host:port, [v6]:port and :port (loopback)', () => {
    expect(hostPortFlag('c', '--listen', '0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(hostPortFlag('c', '--listen', '[::1]:15000')).toEqual({ host: '::1', port: 15000 });
    expect(hostPortFlag('c', '--listen', ':0')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('rejects what is not host:port, with the flag in the message', () => {
    expect(() => hostPortFlag('c', '--listen', '8080')).toThrow(/--listen "8080" is not host:port/);
    expect(() => hostPortFlag('c', '--admin', 'h:http')).toThrow(/--admin port "http" is not a number/);
    expect(() => hostPortFlag('c', '--admin', 'h:65536')).toThrow(/out of range/);
    expect(() => hostPortFlag('c', '--admin', '::1:80')).toThrow(/\[addr\]:port/);
    expect(() => portFlag('c', '--port', '-1')).toThrow(UsageError);
  });
});
