// `wasmesh analyze -f <file|dir>`: `istioctl analyze --use-kube=false` for wasmesh's YAML — the
// files read by the config loader, Istio's analyzers (host/config/analyze/) run over them, the
// messages printed as istioctl prints them, and istioctl's exit codes: 79 when a message at or
// above --failure-threshold was found (log output only, as istioctl), else 65 when a file could
// not be parsed (unless --ignore-unknown), else 0. Usage errors exit 2, as every wasmesh command.
import { formatIssue } from '../config/config-error.js';
import { gatherFiles, readAnalysisInput, FILE_EXTENSIONS } from '../config/analyze/analysis-input.js';
import { analyze, ANALYZERS } from '../config/analyze/analyze.js';
import { atOrAbove, LEVELS, parseLevel, type Level } from '../config/analyze/message.js';
import { formatMessages, OUTPUT_FORMATS, type OutputFormat } from '../config/analyze/output-format.js';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import type { CliIo } from './cli-io.js';
import { CREDENTIALS_DIR_FLAG, credentialsDirFromFlags } from './credentials-dir-flag.js';

export const ANALYZE_SPEC: CommandSpec = {
  command: 'wasmesh analyze',
  summary: 'Analyzes Istio YAML as `istioctl analyze --use-kube=false` does and prints Istio\'s messages (IST0101 referenced resource not found, IST0106 schema validation error, IST0109, IST0111, IST0112, IST0128/IST0129, IST0130/IST0131, IST0132, IST0140, IST0145, IST0149, IST0161, IST0162, IST0174) with the file and line of each.',
  flags: [
    { name: 'filename', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir|->', help: 'Istio YAML file, a folder walked recursively for *.yaml, *.yml and *.json, or - for standard input (as istioctl, files may also be given as plain arguments)' },
    { name: 'namespace', short: 'n', kind: 'string', valueName: '<ns>', help: 'namespace of resources written without one, and whose messages are shown', defaultText: 'default' },
    { name: 'all-namespaces', short: 'A', kind: 'boolean', help: 'show the messages of every namespace' },
    { name: 'output', short: 'o', kind: 'string', valueName: '<log|json|yaml>', help: 'output format', defaultText: 'log' },
    { name: 'output-threshold', kind: 'string', valueName: '<Info|Warning|Error>', help: 'the lowest level shown', defaultText: 'Info' },
    { name: 'failure-threshold', kind: 'string', valueName: '<Info|Warning|Error>', help: 'the lowest level that makes the exit code 79', defaultText: 'Error' },
    { name: 'suppress', short: 'S', kind: 'string', repeat: true, valueName: '<code=resource>', help: 'drop a code on resources matching a glob over `Kind namespace/name`, e.g. "IST0132=VirtualService default/*"' },
    CREDENTIALS_DIR_FLAG,
    { name: 'ignore-unknown', kind: 'boolean', help: 'do not fail (exit 65) on documents that cannot be parsed' },
    { name: 'list-analyzers', short: 'L', kind: 'boolean', help: 'list the analyzers and exit' },
  ],
  epilog: ['Exit codes: 0 no issue at or above --failure-threshold; 79 issues found (log output); 65 a file could not be parsed; 2 usage.'],
};

/**
 * istioctl takes the files as arguments (`istioctl analyze a.yaml dir/`): a word that is neither
 * a flag nor a flag's value is read as `-f word`, so both spellings work.
 */
export function positionalAsFiles(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '-' || !word.startsWith('-')) {
      out.push('-f', word);
      continue;
    }
    out.push(word);
    const name = word.startsWith('--') ? word.slice(2) : null;
    const flag = ANALYZE_SPEC.flags.find((f) => (name !== null ? f.name === name : f.short === word.slice(1)));
    // A string flag without `=value` takes the next word as its value.
    if (flag?.kind === 'string' && !word.includes('=') && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

/** Files from which on a non-terminal stderr gets progress lines. */
export const PROGRESS_FILES = 500;

export interface AnalyzeTerminal {
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Standard input's text for `-` (default: read from file descriptor 0). */
  stdin?: () => string;
}

const processTerminal = (): AnalyzeTerminal => ({
  stdoutIsTTY: Boolean(process.stdout.isTTY) && process.env['TERM'] !== 'dumb',
  stderrIsTTY: Boolean(process.stderr.isTTY),
});

export const EXIT_ANALYZER_FOUND_ISSUES = 79;
export const EXIT_DATA_ERROR = 65;

function levelFlag(flag: string, text: string | undefined, fallback: Level): Level {
  if (text === undefined) return fallback;
  const level = parseLevel(text);
  if (level === null) throw new UsageError(ANALYZE_SPEC.command, `--${flag}: invalid level option "${text}" (valid: ${LEVELS.join(', ')})`);
  return level;
}

export async function analyzeCommand(argv: string[], io: CliIo, terminal: AnalyzeTerminal = processTerminal()): Promise<number> {
  const cmd = ANALYZE_SPEC.command;
  const { help, values } = parseArgs(ANALYZE_SPEC, positionalAsFiles(argv));
  if (help) {
    io.out(formatHelp(ANALYZE_SPEC));
    return 0;
  }
  if (values['list-analyzers'] === true) {
    for (const a of [...ANALYZERS].sort((x, y) => (x.name < y.name ? -1 : 1))) io.out(`* ${a.name}:\n    ${a.description}\n`);
    return 0;
  }
  const format = ((values.output as string | undefined) ?? 'log').toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw new UsageError(cmd, `-o: ${format} not a valid option for format (${OUTPUT_FORMATS.join(', ')})`);
  const outputThreshold = levelFlag('output-threshold', values['output-threshold'] as string | undefined, 'Info');
  const failureThreshold = levelFlag('failure-threshold', values['failure-threshold'] as string | undefined, 'Error');
  const sources = (values.filename as string[] | undefined) ?? [];
  if (sources.length === 0) throw new UsageError(cmd, 'give at least one file or folder (-f <file|dir> or as an argument)');
  const suppress = ((values.suppress as string[] | undefined) ?? []).map((s) => {
    const parts = s.split('=');
    if (parts.length !== 2) throw new UsageError(cmd, `${s} is not a valid suppression value (code=resource)`);
    return { code: parts[0]!, resource: parts[1]! };
  });
  const namespace = (values.namespace as string | undefined) ?? 'default';
  const allNamespaces = values['all-namespaces'] === true;
  const credentialsDir = credentialsDirFromFlags(cmd, values);

  const gathered = gatherFiles(sources);
  if (gathered.missing.length > 0) {
    io.err(`${cmd}: ${gathered.missing.map((m) => `${m}: no such file or directory`).join('; ')}\n`);
    return 1;
  }
  for (const s of gathered.skipped) io.err(`Skipping file ${s}, recognized file extensions are: [${FILE_EXTENSIONS.join(' ')}]\n`);

  const progress = progressReporter(io, terminal.stderrIsTTY, gathered.files.length);
  const input = readAnalysisInput(gathered.files, { namespace, ...(progress !== null ? { onFile: progress.onFile } : {}), ...(terminal.stdin !== undefined ? { stdin: terminal.stdin } : {}) });
  progress?.done();

  const parseErrorFiles = new Set(input.parseErrors.map((i) => i.file ?? ''));
  if (input.parseErrors.length > 0) io.err(`Error(s) adding files:\n${input.parseErrors.map((i) => `  ${formatIssue(i)}\n`).join('')}`);

  const messages = analyze(input, { namespace: allNamespaces ? null : namespace, defaultNamespace: namespace, suppress, ...(credentialsDir !== undefined ? { credentialsDir } : {}) });
  const shown = messages.filter((m) => atOrAbove(m.type.level, outputThreshold));
  io.out(formatMessages(shown, format as OutputFormat, terminal.stdoutIsTTY && format === 'log') + '\n');

  if (shown.length === 0) {
    const target = allNamespaces ? 'all namespaces' : `namespace: ${namespace}`;
    if (parseErrorFiles.size > 0) {
      const n = parseErrorFiles.size;
      io.err(`No validation issues found when analyzing ${target} (but ${n} ${n === 1 ? 'file' : 'files'} could not be parsed).\n`);
    } else if (input.files.length > 1) {
      io.err(`\u2714 No validation issues found when analyzing:\n  - ${input.files.join('\n  - ')}\n`);
    } else if (input.files.length === 1) {
      io.err(`\u2714 No validation issues found when analyzing ${input.files[0]}.\n`);
    } else {
      io.err(`\u2714 No validation issues found when analyzing ${target}.\n`);
    }
  }

  // As istioctl: the exit code reads every message (not only those shown), and only for log output.
  if (format !== 'log') return 0;
  if (messages.some((m) => atOrAbove(m.type.level, failureThreshold))) return EXIT_ANALYZER_FOUND_ISSUES;
  if (parseErrorFiles.size > 0 && values['ignore-unknown'] !== true) return EXIT_DATA_ERROR;
  return 0;
}

/**
 * A file counter on stderr: rewritten in place on a terminal; on a pipe, for trees of
 * PROGRESS_FILES files or more, a line at every tenth of the way. Null when neither applies.
 */
function progressReporter(io: CliIo, tty: boolean, total: number): { onFile: (done: number, total: number) => void; done(): void } | null {
  if (!tty && total < PROGRESS_FILES) return null;
  let last = 0;
  let step = 0;
  return {
    onFile: (done, all) => {
      if (tty) {
        const now = Date.now();
        if (now - last < 100 && done !== all) return;
        last = now;
        io.err(`\rAnalyzing: ${done}/${all} files`);
        return;
      }
      const tenth = Math.floor((done * 10) / all);
      if (tenth > step) {
        step = tenth;
        io.err(`analyze: read ${done}/${all} files\n`);
      }
    },
    done: () => {
      if (tty) io.err('\r\u001b[K');
    },
  };
}
