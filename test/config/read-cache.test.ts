// Reading the same sources again with a ReadCache: a file whose text is unchanged is not parsed
// again (its resources are the same objects), a changed file is, its issues are reported on
// every read while it stays broken, and a file no longer among the sources is forgotten.
import { writeFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ReadCache, readConfig } from '../../host/config/index.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const se = (name: string, address: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec: {hosts: [${name}], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: ${address}}]}
`;

describe('ReadCache', () => {
  it('parses only the files whose text changed, and gives the same result as a fresh read', () => {
    const t = tempYaml({ 'a.yaml': se('a', '10.0.0.1'), 'b.yaml': se('b', '10.0.0.2') });
    const cache = new ReadCache();
    const first = readConfig([t.dir], undefined, cache);
    writeFileSync(t.path('b.yaml'), se('b', '10.0.0.3'));
    const second = readConfig([t.dir], undefined, cache);
    expect(second.effective[0]).toBe(first.effective[0]);
    expect(second.effective[1]).not.toBe(first.effective[1]);
    expect(JSON.stringify(second.effective.map((r) => r.resource))).toBe(JSON.stringify(readConfig([t.dir]).effective.map((r) => r.resource)));
  });

  it('reports a broken file on every read, and forgets removed files', () => {
    const t = tempYaml({ 'a.yaml': se('a', '10.0.0.1'), 'b.yaml': 'kind: [' });
    const cache = new ReadCache();
    for (let i = 0; i < 2; i++) expect(() => readConfig([t.dir], undefined, cache)).toThrow(ConfigError);
    rmSync(t.path('b.yaml'));
    expect(readConfig([t.dir], undefined, cache).effective.map((r) => r.resource.name)).toEqual(['a']);
  });
});
