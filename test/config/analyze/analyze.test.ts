import { describe, expect, it } from 'vitest';
import { analyze } from '../../../host/config/analyze/analyze.js';
import { fixture } from './analyze-fixture.js';

const vs = (name: string, ns: string, host: string, annotations = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
  namespace: ${ns}
${annotations}spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${host}}
`;
const dr = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: zz\nspec:\n  host: nowhere\n';

describe('analyze', () => {
  it('runs every analyzer; sorts by level, code, resource; shows the namespace analyzed only, or all', () => {
    const f = fixture({ 'a.yaml': vs('web', 'default', 'web'), 'b.yaml': vs('api', 'other', 'api'), 'c.yaml': dr, 'd.yaml': vs('app', 'default', 'app') });
    expect(f.log(analyze(f.input, { namespace: 'default', defaultNamespace: 'default' }))).toEqual([
      'Error [IST0101] (VirtualService default/app d.yaml:10) Referenced host not found: "app"',
      'Error [IST0101] (VirtualService default/web a.yaml:10) Referenced host not found: "web"',
      'Warning [IST0174] (DestinationRule default/zz c.yaml:1) The host nowhere defined in the DestinationRule does not match any services in the mesh.',
    ]);
    expect(analyze(f.input, { namespace: null, defaultNamespace: 'default' }).map((m) => `${m.type.code} ${m.origin!.namespace}/${m.origin!.name}`)).toEqual([
      'IST0101 other/api', 'IST0101 default/app', 'IST0101 default/web', 'IST0174 default/zz',
    ]);
  });

  it('honours the galley.istio.io/analyze-suppress annotation and --suppress globs over `Kind namespace/name`', () => {
    const annotated = '  annotations:\n    galley.istio.io/analyze-suppress: "IST0101"\n';
    const f = fixture({ 'a.yaml': vs('web', 'default', 'web', annotated), 'd.yaml': vs('app', 'default', 'app'), 'c.yaml': dr });
    expect(analyze(f.input, { namespace: 'default', defaultNamespace: 'default' }).map((m) => m.origin!.name)).toEqual(['app', 'zz']);
    expect(analyze(f.input, { namespace: 'default', defaultNamespace: 'default', suppress: [{ code: 'IST0101', resource: 'VirtualService default/*' }, { code: 'IST0101', resource: 'DestinationRule *' }] })
      .map((m) => m.origin!.name)).toEqual(['zz']);
  });

  it('drops duplicate messages (same text, same place), keeps those on other lines', () => {
    const twice = vs('web', 'default', 'web').replace('  - route:\n    - destination: {host: web}\n', '  - route: [{destination: {host: web}}, {destination: {host: web}}]\n  - route:\n    - destination: {host: web}\n');
    const f = fixture({ 'a.yaml': twice });
    expect(f.log(analyze(f.input, { namespace: 'default', defaultNamespace: 'default' }))).toEqual([
      'Error [IST0101] (VirtualService default/web a.yaml:11) Referenced host not found: "web"',
      'Error [IST0101] (VirtualService default/web a.yaml:9) Referenced host not found: "web"',
      'Warning [IST0130] (VirtualService default/web a.yaml:1) VirtualService rule #1 not used (only the last rule can have no matches).',
    ]);
  });

  it('a resource the schema refuses is IST0106, and what it names (hosts, subsets, gateway) still counts: no second error', () => {
    const f = fixture({
      'se.yaml': 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: web\nspec:\n  hosts: [web]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  bogus: 1\n',
      'dr.yaml': 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: web\nspec:\n  host: web\n  subsets: [{name: v1, labels: {version: v1}, bogus: 2}]\n',
      'gw.yaml': 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  selector: {istio: ingressgateway}\n  servers: []\n',
      'vs.yaml': 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: web\nspec:\n  hosts: [web]\n  gateways: [gw, mesh]\n  http:\n  - route: [{destination: {host: web, subset: v1, port: {number: 81}}}]\n',
    });
    expect(analyze(f.input, { namespace: 'default', defaultNamespace: 'default' }).map((m) => `${m.type.code} ${m.origin!.kind}`)).toEqual([
      'IST0106 DestinationRule', 'IST0106 Gateway', 'IST0106 ServiceEntry',
    ]);
  });
});
