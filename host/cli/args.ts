// Hand-written command-line parsing for the `wasmesh` sub-commands: each command declares its
// flags as data, and one parser turns argv into typed values or a UsageError (exit code 2).
import { HostPortError, parseHostPort, parsePort, type HostPort } from '../common/host-port.js';

/** One flag of a sub-command, declared once and used for both parsing and `--help`. */
export interface FlagSpec {
  /** Long name without dashes: `listen` for `--listen`. */
  name: string;
  /** One-letter alias without dash: `f` for `-f`. */
  short?: string;
  /** `string` flags take a value; `boolean` flags take none. */
  kind: 'string' | 'boolean';
  /** A string flag that may be given several times collects every value in order. */
  repeat?: boolean;
  /** Shown in help: `--listen <host:port>`. */
  valueName?: string;
  help: string;
  /** Shown in help only; commands apply their own defaults. */
  defaultText?: string;
}

export interface CommandSpec {
  /** The full command, as typed: `wasmesh proxy`. */
  command: string;
  summary: string;
  flags: FlagSpec[];
  /** Extra lines appended to `--help` (examples, notes). */
  epilog?: string[];
}

export type FlagValues = Record<string, string | string[] | boolean | undefined>;

export interface ParsedArgs {
  /** true when -h/--help was given: the caller prints help and exits 0. */
  help: boolean;
  values: FlagValues;
}

/** Bad command-line input: printed with a pointer to `--help`; the process exits 2. */
export class UsageError extends Error {
  readonly code = 'usage';
  readonly command: string;
  constructor(command: string, message: string) {
    super(`${command}: ${message} (see \`${command} --help\`)`);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** Parses argv (the words after the sub-command) against the command's flag specs. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const values: FlagValues = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '-h' || word === '--help') {
      help = true;
      continue;
    }
    if (word === '--') {
      if (i + 1 < argv.length) throw new UsageError(spec.command, `unexpected argument "${argv[i + 1]}"`);
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      throw new UsageError(spec.command, `unexpected argument "${word}"`);
    }
    // `--name=value` and `-f=value` carry their value inline; otherwise it is the next word.
    const eq = word.indexOf('=');
    const key = eq === -1 ? word : word.slice(0, eq);
    const inline = eq === -1 ? undefined : word.slice(eq + 1);
    const flag = findFlag(spec, key);
    if (!flag) throw new UsageError(spec.command, `unknown flag ${key}`);
    const shown = key;
    if (flag.kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(spec.command, `flag ${shown} takes no value`);
      values[flag.name] = true;
      continue;
    }
    let value: string;
    if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      // A following flag is not a value: `--listen --admin x` is a missing value, not a host.
      if (next === undefined || (next.startsWith('-') && next !== '-')) {
        throw new UsageError(spec.command, `flag ${shown} needs a value${flag.valueName ? ` ${flag.valueName}` : ''}`);
      }
      value = next;
      i++;
    }
    if (value === '') throw new UsageError(spec.command, `flag ${shown} needs a non-empty value`);
    if (flag.repeat) {
      const list = (values[flag.name] as string[] | undefined) ?? [];
      list.push(value);
      values[flag.name] = list;
    } else {
      if (values[flag.name] !== undefined) throw new UsageError(spec.command, `flag --${flag.name} given more than once`);
      values[flag.name] = value;
    }
  }
  return { help, values };
}

function findFlag(spec: CommandSpec, key: string): FlagSpec | undefined {
  if (key.startsWith('--')) {
    const name = key.slice(2);
    return spec.flags.find((f) => f.name === name);
  }
  const short = key.slice(1);
  return spec.flags.find((f) => f.short !== undefined && f.short === short);
}

/** The `--help` text of a command, generated from its flag specs. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.command} [flags]`, '', spec.summary, '', 'Flags:'];
  const rows = spec.flags.map((f) => {
    const names = (f.short ? `-${f.short}, ` : '    ') + `--${f.name}` + (f.kind === 'string' ? ` ${f.valueName ?? '<value>'}` : '');
    let text = f.help;
    if (f.repeat) text += ' (repeatable)';
    if (f.defaultText) text += ` (default ${f.defaultText})`;
    return [names, text] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  for (const [names, text] of rows) lines.push(`  ${names.padEnd(width)}${text}`);
  if (spec.epilog && spec.epilog.length > 0) lines.push('', ...spec.epilog);
  return lines.join('\n') + '\n';
}

/** A `host:port` flag's value (host/common/host-port.ts), a bad one told as a UsageError naming the flag. */
export function hostPortFlag(command: string, flag: string, text: string): HostPort {
  try {
    return parseHostPort(text);
  } catch (err) {
    throw asUsageError(command, flag, err);
  }
}

/** A port flag's value, 0..65535 (0: any free port). */
export function portFlag(command: string, flag: string, text: string): number {
  try {
    return parsePort(text);
  } catch (err) {
    throw asUsageError(command, flag, err);
  }
}

function asUsageError(command: string, flag: string, err: unknown): unknown {
  return err instanceof HostPortError ? new UsageError(command, `${flag} ${err.message}`) : err;
}
