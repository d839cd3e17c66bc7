// The conditions of a route's match blocks as the route table holds them, in the compiler's
// order (host/compile/route-table.ts blockConditions: uri, method, authority, port, headers,
// query parameters; a block whose `scheme` the listener cannot serve is left out, and a route
// left with none gets one block that never holds). The core says WHICH condition failed (its
// position); this names it and says why in words. The explainer checks the counts against the
// core's, so a drift between the two orders fails loudly instead of naming the wrong condition.
import type { Route, RouteMatch, StringMatch } from '../model/mesh.js';
import { LISTENER_SCHEME, schemeHolds } from '../compile/route-table.js';

/** One condition of a block, described for a reader. */
export interface ConditionInfo {
  /** `uri`, `method`, `authority`, `port`, `headers.<name>`, `withoutHeaders.<name>`, `queryParams.<name>`, or `scheme`. */
  readonly field: string;
  /** What it requires, e.g. `uri prefix /api`, `header end-user exact "jason"`. */
  readonly requires: string;
  /** Why it fails for a request (see whyNot). */
  readonly why: (r: ExplainRequestView) => string;
}

/** The request as the explanation reads it (the same values written into the core's view). */
export interface ExplainRequestView {
  readonly method: string;
  /** The request-target: path and query. */
  readonly path: string;
  readonly authority: string;
  /** Lower-case names. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The port the request addressed (authority's, else the listener's). */
  readonly port: number;
}

/** One table block: the model block it came from (index into route.matches, -1 for the never block) and its conditions. */
export interface BlockInfo {
  readonly match: number;
  readonly conditions: readonly ConditionInfo[];
}

/** The blocks a route was compiled to, and the model blocks left out (scheme), each with its reason. */
export interface RouteConditions {
  readonly blocks: readonly BlockInfo[];
  readonly ruledOut: ReadonlyArray<{ readonly match: number; readonly why: string }>;
}

const q = (s: string): string => JSON.stringify(s);

function sm(m: StringMatch): string {
  return `${m.kind} ${q(m.value)}`;
}

const pathPart = (target: string): string => {
  const i = target.search(/[?#]/);
  return i < 0 ? target : target.slice(0, i);
};

function queryValue(target: string, name: string): string | null {
  const qi = target.indexOf('?');
  if (qi < 0 || qi !== pathPart(target).length) return null;
  let query = target.slice(qi + 1);
  const h = query.indexOf('#');
  if (h >= 0) query = query.slice(0, h);
  for (const el of query.split('&')) {
    const eq = el.indexOf('=');
    const n = eq < 0 ? el : el.slice(0, eq);
    if (n === name) return eq < 0 ? '' : el.slice(eq + 1);
  }
  return null;
}

function blockConditionInfos(m: RouteMatch): ConditionInfo[] {
  const out: ConditionInfo[] = [];
  if (m.uri) {
    const uri = m.uri;
    const requires = `uri ${sm(uri)}${m.ignoreUriCase && uri.kind !== 'regex' ? ' (ignoring case)' : ''}`;
    out.push({ field: 'uri', requires, why: (r) => `${requires} does not match ${q(pathPart(r.path))}` });
  }
  if (m.method) {
    const requires = `method ${sm(m.method)}`;
    out.push({ field: 'method', requires, why: (r) => `${requires} does not match ${q(r.method)}` });
  }
  if (m.authority) {
    const requires = `authority ${sm(m.authority)}`;
    out.push({ field: 'authority', requires, why: (r) => `${requires} does not match ${q(r.authority)}` });
  }
  if (m.port != null) {
    const requires = `port ${m.port}`;
    out.push({ field: 'port', requires, why: (r) => `${requires} is not the request's port ${r.port}` });
  }
  for (const h of m.headers) {
    const name = h.name.toLowerCase();
    const values = (r: ExplainRequestView): string[] => r.headers.filter(([n]) => n === name).map(([, v]) => v);
    if (h.invert) {
      const requires = `header ${name} ${h.match === null ? 'absent' : `not ${sm(h.match)}`} (withoutHeaders)`;
      out.push({ field: `withoutHeaders.${name}`, requires, why: (r) => `header ${name} ${h.match === null ? 'present' : `${q(values(r).join(', '))} matches ${sm(h.match)}`} (withoutHeaders)` });
    } else {
      const requires = `header ${name} ${h.match === null ? 'present' : sm(h.match)}`;
      out.push({
        field: `headers.${name}`, requires,
        why: (r) => {
          const v = values(r);
          return v.length === 0 ? `header ${name} missing (needs ${h.match === null ? 'presence' : sm(h.match!)})` : `header ${name} ${q(v.join(', '))} does not match ${sm(h.match!)}`;
        },
      });
    }
  }
  for (const p of m.queryParams ?? []) {
    const requires = `query parameter ${p.name} ${p.match === null ? 'present' : sm(p.match)}`;
    out.push({
      field: `queryParams.${p.name}`, requires,
      why: (r) => {
        const v = queryValue(r.path, p.name);
        return v === null ? `query parameter ${p.name} missing` : `query parameter ${p.name} ${q(v)} does not match ${sm(p.match!)}`;
      },
    });
  }
  return out;
}

/** The table blocks of `route`, in table order. */
export function routeConditions(route: Route): RouteConditions {
  const blocks: BlockInfo[] = [];
  const ruledOut: Array<{ match: number; why: string }> = [];
  route.matches.forEach((m, i) => {
    if (m.scheme != null && !schemeHolds(route, m.scheme)) {
      ruledOut.push({ match: i, why: `scheme ${sm(m.scheme)} is not the listener's scheme ${q(LISTENER_SCHEME)}` });
      return;
    }
    blocks.push({ match: i, conditions: blockConditionInfos(m) });
  });
  if (route.matches.length > 0 && blocks.length === 0) {
    blocks.push({ match: -1, conditions: [{ field: 'scheme', requires: 'a scheme this listener serves', why: () => `every match block requires a scheme other than ${q(LISTENER_SCHEME)}` }] });
  }
  return { blocks, ruledOut };
}
