// A Kubernetes LabelSelector (metav1.LabelSelector) and its matching rule, as the API server and
// client-go's labels.Selector apply it: every matchLabels pair and every matchExpressions
// requirement must hold (AND); `In`/`NotIn` compare the label's value with `values`, `Exists`/
// `DoesNotExist` only its presence (`NotIn` also matches a missing label). An empty selector
// matches everything. Used for meshConfig discoverySelectors (namespaces' labels).

export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelRequirement[];
}

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = has ? labels[r.key]! : undefined;
    switch (r.operator) {
      case 'In': if (value === undefined || !(r.values ?? []).includes(value)) return false; break;
      case 'NotIn': if (value !== undefined && (r.values ?? []).includes(value)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}

/** meshConfig discoverySelectors: a namespace is discovered when any selector matches (OR); none given: every namespace. */
export function anySelectorMatches(selectors: readonly LabelSelector[] | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selectors === undefined || selectors.length === 0) return true;
  return selectors.some((s) => selectorMatches(s, labels));
}
