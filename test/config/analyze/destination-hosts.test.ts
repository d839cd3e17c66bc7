import { describe, expect, it } from 'vitest';
import { destinationHostMessages } from '../../../host/config/analyze/destination-hosts.js';
import { fixture, serviceEntry } from './analyze-fixture.js';

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
        port:
          number: 9080
    mirror:
      host: shadow
  tcp:
  - route:
    - destination:
        host: db
`;

describe('virtualservice.DestinationHostAnalyzer', () => {
  it('reports each route and mirror host no ServiceEntry or Service defines (IST0101), at the host\'s line', () => {
    const f = fixture({ 'vs.yaml': VS });
    expect(f.log(destinationHostMessages(f.input))).toEqual([
      'Error [IST0101] (VirtualService default/reviews vs.yaml:18) Referenced host not found: "db"',
      'Error [IST0101] (VirtualService default/reviews vs.yaml:10) Referenced host not found: "reviews"',
      'Error [IST0101] (VirtualService default/reviews vs.yaml:14) Referenced mirror host not found: "shadow"',
    ]);
  });

  it('finds hosts in ServiceEntries (short names in the VirtualService\'s namespace, FQDNs) and Kubernetes Services', () => {
    const svc = `apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  ports:
  - port: 5432
`;
    const f = fixture({
      'vs.yaml': VS,
      'se.yaml': `${serviceEntry('reviews', ['reviews'], [9080])}---\n${serviceEntry('shadow', ['shadow.default.svc.cluster.local'], [80])}`,
      'svc.yaml': svc,
    });
    expect(destinationHostMessages(f.input)).toEqual([]);
  });

  it('a host in another namespace is not found from here, unless exported to all', () => {
    const local = serviceEntry('reviews', ['reviews'], [9080], '  exportTo: ["."]\n').replace('name: reviews', 'name: reviews\n  namespace: other');
    const f = fixture({ 'vs.yaml': VS.replace(/\n  tcp:[\s\S]*$/, '\n').replace(/    mirror:\n      host: shadow\n/, ''), 'se.yaml': local });
    expect(f.log(destinationHostMessages(f.input))).toEqual(['Error [IST0101] (VirtualService default/reviews vs.yaml:10) Referenced host not found: "reviews"']);
    const exported = fixture({ 'vs.yaml': VS.replace(/\n  tcp:[\s\S]*$/, '\n').replace(/    mirror:\n      host: shadow\n/, '').replace('host: reviews\n', 'host: reviews.other.svc.cluster.local\n'), 'se.yaml': local.replace('["."]', '["*"]') });
    expect(destinationHostMessages(exported.input)).toEqual([]);
  });

  it('a wildcard ServiceEntry host covers the names under it', () => {
    const f = fixture({
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ext
spec:
  hosts: [api.example.com]
  http:
  - route:
    - destination:
        host: api.example.com
`,
      'se.yaml': serviceEntry('ext', ['*.example.com'], [443]),
    });
    expect(destinationHostMessages(f.input)).toEqual([]);
  });

  it('a service with several ports needs the destination port (IST0112); a port it lacks is IST0101 host:port', () => {
    const f = fixture({
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: multi
spec:
  hosts: [multi]
  http:
  - route:
    - destination:
        host: multi
  - route:
    - destination:
        host: multi
        port:
          number: 81
  - route:
    - destination:
        host: multi
        port:
          number: 8080
`,
      'se.yaml': serviceEntry('multi', ['multi'], [80, 8080]),
    });
    expect(f.log(destinationHostMessages(f.input))).toEqual([
      'Error [IST0112] (VirtualService default/multi vs.yaml:10) This VirtualService routes to a service "multi" that exposes multiple ports [80 8080]. Specifying a port in the destination is required to disambiguate.',
      'Error [IST0101] (VirtualService default/multi vs.yaml:13) Referenced host:port not found: "multi:81"',
    ]);
  });
});
