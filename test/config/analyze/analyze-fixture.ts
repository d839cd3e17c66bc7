// Analysis inputs from YAML written into a temp folder, and messages as istioctl's log lines
// with the folder stripped, so each analyzer test reads as the files and the lines it expects.
import { gatherFiles, readAnalysisInput, type AnalysisInput } from '../../../host/config/analyze/analysis-input.js';
import { formatLog, type AnalysisMessage } from '../../../host/config/analyze/message.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

export interface Fixture {
  input: AnalysisInput;
  dir: string;
  /** The messages as log lines, `<dir>/` removed. */
  log(messages: readonly AnalysisMessage[]): string[];
}

export function fixture(files: Record<string, string>, namespace = 'default'): Fixture {
  const { dir } = tempYaml(files);
  const input = readAnalysisInput(gatherFiles([dir]).files, { namespace });
  return { input, dir, log: (messages) => messages.map((m) => formatLog(m).split(`${dir}/`).join('')) };
}

/** A ServiceEntry for `hosts` with `ports` (numbers), in `namespace` when given. */
export function serviceEntry(name: string, hosts: string[], ports: number[], extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
spec:
  hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]
  ports:
${ports.map((p) => `  - number: ${p}\n    name: http-${p}\n    protocol: HTTP`).join('\n')}
  resolution: STATIC
${extra}`;
}
