// Istio's HTTPRewrite as Envoy applies it to the upstream request: `uri` replaces the matched
// prefix (prefix_rewrite; with an exact or regex uri match the whole path, query kept),
// `uriRegex` substitutes every match of an RE2 pattern in the path (regex_rewrite, query kept),
// `authority` replaces Host. Compiled once per config version at ProxyServer.apply().
//
// The host's regex compiler (host/compile/regex) builds full-match DFAs without capture groups,
// so the substitution runs on a JS RegExp made once here; host/config has already checked the
// pattern as RE2, whose syntax JS RegExp shares for everything a rewrite uses (RE2's
// `(?P<name>…)` is translated to JS's `(?<name>…)`).
import type { Route, StringMatch } from '../model/mesh.js';
import { re2ToJs, re2Substitution } from '../compile/regex/re2-to-js.js';

export class RewriteError extends Error {
  readonly code = 'REWRITE_INVALID';
  constructor(route: string, detail: string) {
    super(`route ${route}: rewrite ${detail} (REWRITE_INVALID)`);
    this.name = 'RewriteError';
  }
}

/** One match block's uri condition, enough to know what prefix a request matched. */
interface UriCondition {
  kind: 'exact' | 'prefix' | 'regex';
  value: string;
  ignoreCase: boolean;
  regex: RegExp | null;
}

function uriCondition(m: StringMatch, ignoreCase: boolean, route: string): UriCondition {
  let regex: RegExp | null = null;
  if (m.kind === 'regex') {
    try {
      regex = new RegExp(`^(?:${re2ToJs(m.value)})$`, ignoreCase ? 'i' : '');
    } catch (err) {
      throw new RewriteError(route, `cannot compile uri regex ${JSON.stringify(m.value)}: ${(err as Error).message}`);
    }
  }
  return { kind: m.kind, value: ignoreCase ? m.value.toLowerCase() : m.value, ignoreCase, regex };
}

function holds(c: UriCondition, path: string): boolean {
  const p = c.ignoreCase ? path.toLowerCase() : path;
  if (c.kind === 'exact') return p === c.value;
  if (c.kind === 'prefix') return p.startsWith(c.value);
  return c.regex!.test(path);
}

export class RouteRewrite {
  /** Host (authority) for the upstream request, or null to keep the request's. */
  readonly authority: string | null;
  readonly #uri: string | null;
  readonly #regex: RegExp | null;
  readonly #substitution: string;
  /** Per match block; null stands for a block without uri condition (Envoy: prefix "/"). */
  readonly #conditions: Array<UriCondition | null>;

  private constructor(route: Route) {
    const rw = route.rewrite!;
    this.authority = rw.authority ? rw.authority : null;
    this.#uri = rw.uri ? rw.uri : null;
    this.#regex = null;
    this.#substitution = '';
    if (rw.uriRegex) {
      try {
        this.#regex = new RegExp(re2ToJs(rw.uriRegex.match), 'g');
      } catch (err) {
        throw new RewriteError(route.name, `uriRegex.match ${JSON.stringify(rw.uriRegex.match)} does not compile: ${(err as Error).message}`);
      }
      this.#substitution = re2Substitution(rw.uriRegex.rewrite);
    }
    this.#conditions = route.matches.map((m) => (m.uri ? uriCondition(m.uri, m.ignoreUriCase, route.name) : null));
  }

  /** The route's compiled rewrite, or null when it rewrites nothing. */
  static compile(route: Route): RouteRewrite | null {
    const rw = route.rewrite;
    if (!rw || (!rw.uri && !rw.uriRegex && !rw.authority)) return null;
    return new RouteRewrite(route);
  }

  /** Whether the path changes (then x-envoy-original-path is sent). */
  get rewritesPath(): boolean {
    return this.#uri !== null || this.#regex !== null;
  }

  /** The upstream request-target for `target` (path plus query), or null when unchanged. */
  path(target: string): string | null {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q);
    if (this.#regex) {
      this.#regex.lastIndex = 0;
      return path.replace(this.#regex, this.#substitution) + query;
    }
    const uri = this.#uri;
    if (uri === null) return null;
    // The first block whose uri condition holds decides what was matched (the core reports
    // the route, not the block); a block without uri condition is Envoy's prefix "/".
    for (const c of this.#conditions.length ? this.#conditions : [null]) {
      if (c === null) return uri + path.slice(1) + query;
      if (!holds(c, path)) continue;
      if (c.kind === 'prefix') return uri + path.slice(c.value.length) + query;
      return uri + query; // exact or regex: the whole path is swapped, the query kept
    }
    // No block's uri holds (matched through another block without uri): Envoy's prefix "/".
    return uri + path.slice(1) + query;
  }
}
