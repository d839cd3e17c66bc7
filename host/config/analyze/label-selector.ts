// Kubernetes equality label selectors as Istio's analyzers use them (klabels.SelectorFromSet):
// a set of key=value pairs that matches labels holding every pair; the empty set matches
// everything; printed as `k1=v1,k2=v2`, keys sorted.
export type Labels = Readonly<Record<string, string>>;

export function selectorMatches(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function selectorString(selector: Labels): string {
  return Object.keys(selector).sort().map((k) => `${k}=${selector[k]}`).join(',');
}

/** The first key of a printed selector (Istio's ExtractLabelFromSelectorString): where its line is looked up. */
export function firstSelectorKey(printed: string): string {
  const eq = printed.indexOf('=');
  return eq < 0 ? '' : printed.slice(0, eq);
}
