// The control plane's injection webhook flags (`--webhook-listen`, `--webhook-cert`,
// `--webhook-key`, `--webhook-dns`, `--webhook-image`, `--webhook-mesh-config`,
// `--webhook-native-sidecars`, `--webhook-config-name`: the configuration whose caBundle
// `--kube --ca-dir` keeps), declared once;
// the webhook is off unless --webhook-listen is given. Its serving certificate comes from the
// control plane's CA (--ca-dir) or from --webhook-cert/--webhook-key (`wasmesh install --webhook-only
// --ca-bundle` then takes the PEM of the roots that certificate chains to).
import { readFileSync } from 'node:fs';
import { hostPortFlag, UsageError, type FlagSpec, type FlagValues } from './args.js';
import type { HostPort } from '../common/host-port.js';
import { defaultInjectDefaults, InjectSettingError, meshConfigDefaults, type InjectDefaults } from '../kube/injection-settings.js';
import { nativeSidecarMode, type NativeSidecarMode } from '../kube/native-sidecars.js';
import { packageVersion } from './kube-inject-command.js';
import { WEBHOOK_CONFIG_NAME } from '../kube/injection-webhook-config.js';

export const WEBHOOK_FLAGS: FlagSpec[] = [
  { name: 'webhook-listen', kind: 'string', valueName: '<host:port>', help: 'serve the sidecar injection webhook (AdmissionReview v1, POST /inject over HTTPS; istiod\'s 15017)', defaultText: 'off' },
  { name: 'webhook-dns', kind: 'string', repeat: true, valueName: '<name|ip>', help: 'with --ca-dir: another name in the webhook\'s certificate (it always holds istiod.istio-system.svc and the listen address)' },
  { name: 'webhook-cert', kind: 'string', valueName: '<file>', help: 'the webhook\'s serving certificate chain (PEM) instead of one from --ca-dir' },
  { name: 'webhook-key', kind: 'string', valueName: '<file>', help: 'its private key (PEM)' },
  { name: 'webhook-image', kind: 'string', valueName: '<image>', help: 'the sidecar image the webhook injects', defaultText: 'wasmesh/proxy:<version>' },
  { name: 'webhook-native-sidecars', kind: 'string', valueName: '<true|false|auto>', help: 'inject istio-proxy as a native sidecar (istiod\'s ENABLE_NATIVE_SIDECARS); auto: on when the API server (--kube/--kube-tokens) is Kubernetes >= 1.33', defaultText: '$ENABLE_NATIVE_SIDECARS, else auto' },
  { name: 'webhook-mesh-config', kind: 'string', valueName: '<file>', help: 'Istio MeshConfig YAML for injection (defaultConfig, trustDomain), as kube-inject --meshConfig' },
  { name: 'webhook-config-name', kind: 'string', valueName: '<name>', help: 'with --ca-dir and --kube: the MutatingWebhookConfiguration whose caBundle the control plane keeps equal to its CA root (istiod\'s INJECTION_WEBHOOK_CONFIG_NAME)', defaultText: 'istio-sidecar-injector' },
];

export interface WebhookPlan {
  listen: HostPort;
  defaults: InjectDefaults;
  dnsNames: string[];
  /** ENABLE_NATIVE_SIDECARS: `auto` is resolved against the API server's version when the webhook starts. */
  nativeSidecars: NativeSidecarMode;
  files: { certPem: string; keyPem: string } | null;
  /** The MutatingWebhookConfiguration whose caBundle is kept (with --ca-dir and an API server). */
  configName: string;
}

/** The webhook's plan from the flags, or null without --webhook-listen. */
export function webhookFromFlags(command: string, values: FlagValues, hasCa: boolean): WebhookPlan | null {
  const at = values['webhook-listen'] as string | undefined;
  if (at === undefined) {
    const stray = ['webhook-dns', 'webhook-cert', 'webhook-key', 'webhook-image', 'webhook-mesh-config', 'webhook-config-name', 'webhook-native-sidecars'].find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(command, `--${stray} goes with --webhook-listen`);
    return null;
  }
  const listen = hostPortFlag(command, '--webhook-listen', at);
  const read = (flag: string): string => {
    const path = values[flag] as string;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(command, `--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const hasCert = values['webhook-cert'] !== undefined;
  if (hasCert !== (values['webhook-key'] !== undefined)) throw new UsageError(command, '--webhook-cert and --webhook-key go together');
  if (!hasCert && !hasCa) throw new UsageError(command, '--webhook-listen needs a serving certificate: --ca-dir (issued by the control plane\'s CA) or --webhook-cert and --webhook-key (the API server calls webhooks over HTTPS only)');
  const dnsNames = (values['webhook-dns'] as string[] | undefined) ?? [];
  if (hasCert && dnsNames.length > 0) throw new UsageError(command, '--webhook-dns names a certificate issued by --ca-dir; with --webhook-cert the names are the file\'s');
  let defaults = defaultInjectDefaults((values['webhook-image'] as string | undefined) ?? `wasmesh/proxy:${packageVersion()}`);
  if (values['webhook-mesh-config'] !== undefined) {
    try {
      defaults = meshConfigDefaults(read('webhook-mesh-config'), defaults);
    } catch (err) {
      if (err instanceof InjectSettingError) throw new UsageError(command, `--webhook-mesh-config ${String(values['webhook-mesh-config'])}: ${err.where}: ${err.message}`);
      throw err;
    }
  }
  const configName = (values['webhook-config-name'] as string | undefined) ?? WEBHOOK_CONFIG_NAME;
  if (hasCert && values['webhook-config-name'] !== undefined) throw new UsageError(command, '--webhook-config-name: the caBundle is kept only for a certificate from --ca-dir (with --webhook-cert the roots are yours to put in it)');
  let nativeSidecars: NativeSidecarMode;
  try {
    const flag = values['webhook-native-sidecars'] as string | undefined;
    nativeSidecars = nativeSidecarMode(flag ?? process.env.ENABLE_NATIVE_SIDECARS ?? 'auto', flag !== undefined ? '--webhook-native-sidecars' : 'ENABLE_NATIVE_SIDECARS');
  } catch (err) {
    throw new UsageError(command, (err as Error).message);
  }
  return { listen, defaults, dnsNames, nativeSidecars, files: hasCert ? { certPem: read('webhook-cert'), keyPem: read('webhook-key') } : null, configName };
}
