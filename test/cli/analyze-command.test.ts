// `wasmesh analyze` end to end in-process (main → analyze-command): istioctl's output in each
// format, its exit codes (79 issues at or above --failure-threshold in log output, 65 a file that
// cannot be parsed, 0 clean, 2 usage), the success line, and progress on stderr. istioctl itself
// is not installed here, so the expected texts are Istio's templates and formatter, not a run of it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeCommand, EXIT_ANALYZER_FOUND_ISSUES, EXIT_DATA_ERROR, PROGRESS_FILES } from '../../host/cli/analyze-command.js';
import { main } from '../../host/cli/main.js';
import { fakeIo } from '../helpers/fake-io.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { ensureBuilt, ROOT } from '../helpers/wasmesh-process.js';

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
`;
const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
spec:
  hosts: [reviews]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
`;
const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
`;
const NO_TTY = { stdoutIsTTY: false, stderrIsTTY: false };

async function run(argv: string[], terminal = NO_TTY): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = fakeIo();
  const code = await analyzeCommand(argv, io, terminal);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('wasmesh analyze', () => {
  it('prints istioctl\'s log lines and exits 79 on an Error', async () => {
    const { dir } = tempYaml({ 'vs.yaml': VS });
    const r = await run(['-f', dir]);
    expect(r.stdout).toBe(
      `Error [IST0101] (VirtualService default/reviews ${dir}/vs.yaml:10) Referenced host not found: "reviews"\n`
      + `Error [IST0101] (VirtualService default/reviews ${dir}/vs.yaml:10) Referenced host+subset in destinationrule not found: "reviews+v1"\n`,
    );
    expect(r.code).toBe(EXIT_ANALYZER_FOUND_ISSUES);
    expect(r.stderr).toBe('');
  });

  it('clean files: an empty line on stdout, istioctl\'s check-mark line naming the files on stderr, exit 0', async () => {
    const { dir } = tempYaml({ 'vs.yaml': VS, 'se.yaml': SE, 'dr.yaml': DR });
    const r = await run(['-f', dir]);
    expect(r).toEqual({
      code: 0,
      stdout: '\n',
      stderr: `\u2714 No validation issues found when analyzing:\n  - ${dir}/dr.yaml\n  - ${dir}/se.yaml\n  - ${dir}/vs.yaml\n`,
    });
    const one = await run(['-f', `${dir}/se.yaml`]);
    expect(one.stderr).toBe(`\u2714 No validation issues found when analyzing ${dir}/se.yaml.\n`);
  });

  it('--failure-threshold and --output-threshold: Warnings fail at Warning; hidden messages still set the exit code', async () => {
    const { dir } = tempYaml({ 'se.yaml': SE, 'dr.yaml': DR.replace('host: reviews', 'host: ratings') });
    expect((await run(['-f', dir])).code).toBe(0);
    expect((await run(['-f', dir, '--failure-threshold', 'warning'])).code).toBe(EXIT_ANALYZER_FOUND_ISSUES);
    const hidden = await run(['-f', dir, '--failure-threshold', 'Warning', '--output-threshold', 'Error']);
    expect(hidden.stdout).toBe('\n');
    expect(hidden.stderr).toMatch(/^\u2714 No validation issues found when analyzing:/);
    expect(hidden.code).toBe(EXIT_ANALYZER_FOUND_ISSUES);
  });

  it('-o json and -o yaml print the messages as istioctl does and, as istioctl, exit 0 whatever they hold', async () => {
    const { dir } = tempYaml({ 'vs.yaml': VS, 'se.yaml': SE });
    const json = await run(['-f', dir, '-o', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{
      code: 'IST0101',
      documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/?ref=istioctl-analyze',
      level: 'Error',
      message: 'Referenced host+subset in destinationrule not found: "reviews+v1"',
      origin: 'VirtualService default/reviews',
      reference: `${dir}/vs.yaml:10`,
    }]);
    const yaml = await run(['-f', dir, '-o', 'YAML']);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });

  it('-n picks the namespace of unnamespaced resources and of the messages shown; -A shows all', async () => {
    const { dir } = tempYaml({ 'vs.yaml': VS, 'other.yaml': VS.replace('name: reviews\n', 'name: reviews\n  namespace: other\n') });
    const shop = await run(['-f', dir, '-n', 'shop']);
    expect(shop.stdout).toMatch(/^Error \[IST0101\] \(VirtualService shop\/reviews /);
    expect(shop.stdout).not.toMatch(/other\/reviews/);
    const all = await run(['-f', dir, '-A']);
    expect(all.stdout.split('\n').filter((l) => l !== '').map((l) => l.split(' ')[3])).toEqual(['default/reviews', 'default/reviews', 'other/reviews', 'other/reviews']);
  });

  it('a file that cannot be parsed: "Error(s) adding files" on stderr, exit 65 (0 with --ignore-unknown); 79 still wins', async () => {
    const { dir } = tempYaml({ 'bad.yaml': 'a: [unclosed\n', 'se.yaml': SE });
    const r = await run(['-f', dir]);
    expect(r.stderr).toMatch(new RegExp(`^Error\\(s\\) adding files:\\n  ${dir}/bad\\.yaml:\\d+ \\(document 1\\): YAML syntax error`));
    expect(r.stderr).toMatch(/No validation issues found when analyzing namespace: default \(but 1 file could not be parsed\)\.\n$/);
    expect(r.code).toBe(EXIT_DATA_ERROR);
    expect((await run(['-f', dir, '--ignore-unknown'])).code).toBe(0);
    const both = tempYaml({ 'bad.yaml': 'a: [unclosed\n', 'vs.yaml': VS });
    expect((await run(['-f', both.dir])).code).toBe(EXIT_ANALYZER_FOUND_ISSUES);
  });

  it('skips files of other extensions with istioctl\'s notice; a missing path exits 1; usage errors exit 2 through main', async () => {
    const { dir } = tempYaml({ 'se.yaml': SE, 'README.md': '# not config' });
    const r = await run(['-f', dir]);
    expect(r.stderr).toContain(`Skipping file ${dir}/README.md, recognized file extensions are: [.json .yaml .yml]\n`);
    expect((await run(['-f', `${dir}/nope`])).code).toBe(1);
    for (const argv of [['analyze'], ['analyze', '-f', dir, '-o', 'table'], ['analyze', '-f', dir, '--failure-threshold', 'fatal'], ['analyze', '-f', dir, '-S', 'IST0101']]) {
      const io = fakeIo();
      expect(await main(argv, io)).toBe(2);
      expect(io.stderr).toMatch(/^wasmesh analyze: /);
    }
  });

  it('progress: a file counter rewritten in place on a terminal, cleared at the end; lines on a pipe for large trees only', async () => {
    const { dir } = tempYaml({ 'se.yaml': SE, 'dr.yaml': DR });
    const tty = await run(['-f', dir], { stdoutIsTTY: false, stderrIsTTY: true });
    expect(tty.stderr).toMatch(/^\rAnalyzing: \d\/2 files/);
    expect(tty.stderr).toContain('\rAnalyzing: 2/2 files\r\u001b[K');
    expect((await run(['-f', dir])).stderr).not.toMatch(/Analyzing|read/);
    const files: Record<string, string> = {};
    for (let i = 0; i < PROGRESS_FILES; i++) files[`se-${String(i).padStart(4, '0')}.yaml`] = SE.replace('name: reviews', `name: s${i}`);
    const big = tempYaml(files);
    const piped = await run(['-f', big.dir]);
    expect(piped.stderr.split('\n').filter((l) => l.startsWith('analyze: read'))).toEqual(
      Array.from({ length: 10 }, (_, i) => `analyze: read ${(i + 1) * (PROGRESS_FILES / 10)}/${PROGRESS_FILES} files`),
    );
  });

  it('as istioctl, files may be plain arguments, and - reads standard input', async () => {
    const { dir } = tempYaml({ 'vs.yaml': VS, 'se.yaml': SE });
    const plain = await run([dir, '-o', 'json', `${dir}/vs.yaml`]);
    expect(JSON.parse(plain.stdout)).toHaveLength(1);
    const io = fakeIo();
    expect(await analyzeCommand(['-', '-n', 'shop'], io, { ...NO_TTY, stdin: () => VS })).toBe(EXIT_ANALYZER_FOUND_ISSUES);
    expect(io.stdout).toMatch(/^Error \[IST0101\] \(VirtualService shop\/reviews -:10\) Referenced host not found: "reviews"\n/);
  });

  it('-L lists the analyzers', async () => {
    const r = await run(['-L']);
    expect(r.stdout).toContain('* virtualservice.DestinationHostAnalyzer:\n    Checks the destination hosts associated with each virtual service\n');
  });

  it('the real binary: exit status 79 reaches the shell, the check-mark line goes to stderr', async () => {
    await ensureBuilt();
    const bin = join(ROOT, 'bin', 'wasmesh.js');
    const bad = tempYaml({ 'vs.yaml': VS });
    const failed = spawnSync(process.execPath, [bin, 'analyze', '-f', bad.dir], { encoding: 'utf8', timeout: 30_000 });
    expect(failed.status).toBe(EXIT_ANALYZER_FOUND_ISSUES);
    expect(failed.stdout).toMatch(/^Error \[IST0101\] \(VirtualService default\/reviews /);
    const good = tempYaml({ 'se.yaml': SE });
    const clean = spawnSync(process.execPath, [bin, 'analyze', '-f', good.dir], { encoding: 'utf8', timeout: 30_000 });
    expect(clean.status).toBe(0);
    expect(clean.stderr).toBe(`\u2714 No validation issues found when analyzing ${good.dir}/se.yaml.\n`);
    const piped = spawnSync(process.execPath, [bin, 'analyze', '-'], { input: SE, encoding: 'utf8', timeout: 30_000 });
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('\u2714 No validation issues found when analyzing -.\n');
  }, 300_000);
});
