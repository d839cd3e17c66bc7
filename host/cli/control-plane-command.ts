// `wasmesh control-plane`: istiod's role for wasmesh proxies, stock Envoy and proxyless gRPC —
// reads and watches Istio YAML, serves every proxy its view over xDS (ADS, state of the world
// and delta) on 15010, and reports on the monitoring port 15014 (metrics, /debug/syncz).
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec } from './args.js';
import { logLine, untilStopped, type CliIo } from './cli-io.js';
import { ALLOW_UNENFORCED_SECURITY } from './unenforced-security-flag.js';
import { CREDENTIALS_DIR_FLAG, credentialsDirFromFlags } from './credentials-dir-flag.js';
import { ConfigError, ReadCache, readConfig } from '../config/index.js';
import { ControlPlane } from '../control-plane/control-plane.js';
import { MonitoringServer } from '../control-plane/monitoring-server.js';
import { DASHBOARD_FLAGS, dashboardFromFlags, startPlannedDashboard } from './dashboard-flags.js';
import type { DashboardServer } from '../dashboard/dashboard-server.js';
import { parseDuration } from '../common/duration.js';
import { CA_FLAGS, caFromFlags } from './ca-flags.js';
import type { CaService } from '../identity/ca-service.js';
import { kubeAccess, type KubeAccess } from '../kube/kube-access.js';
import { DEFAULT_ISTIO_NAMESPACE, KubeResourceSource } from '../kube/kube-resource-source.js';
import { readWithKube } from '../kube/discovery-selectors.js';
import { RejectionEvents } from '../kube/rejection-events.js';
import type { RootCertPublisher } from '../kube/root-cert-publisher.js';
import type { WebhookCaBundlePatcher } from '../kube/webhook-ca-bundle.js';
import type { KubeTokenReviewer } from '../identity/kube-token-review.js';
import { WEBHOOK_FLAGS, webhookFromFlags } from './webhook-flags.js';
import { kubeVersionOf, nativeSidecarsFor, type KubeVersion } from '../kube/native-sidecars.js';
import type { InjectionWebhookServer } from '../control-plane/injection-webhook-server.js';
import { formatHostPort } from '../common/host-port.js';

export const CONTROL_PLANE_SPEC: CommandSpec = {
  command: 'wasmesh control-plane',
  summary:
    'Serves Istio YAML to every proxy over xDS (istiod\'s role): wasmesh proxies and sidecars (`--xds`), stock Envoy ' +
    '(`wasmesh envoy-bootstrap`) and proxyless gRPC clients (`wasmesh grpc-bootstrap`), each given its own view (a gateway the Gateway its labels ' +
    'select, a sidecar its namespace and labels). The files are watched; a change is pushed, debounced, to the proxies ' +
    'it affects; an invalid change is reported and the last good config keeps being served.',
  flags: [
    { name: 'file', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir>', help: 'Istio YAML file or folder of them' },
    { name: 'kube', kind: 'boolean', help: 'also take Services, EndpointSlices, Pods and the Istio resources from a Kubernetes API server (list + watch)' },
    { name: 'kubeconfig', kind: 'string', valueName: '<file>', help: 'with --kube or --kube-tokens: the kubeconfig (else $KUBECONFIG, in-cluster, ~/.kube/config)' },
    { name: 'istio-namespace', kind: 'string', valueName: '<ns>', help: 'with --kube: the control plane\'s namespace, whose ConfigMap `istio` (key `mesh`) is the mesh config', defaultText: '$POD_NAMESPACE, else istio-system' },
    { name: 'xds-listen', kind: 'string', valueName: '<host:port>', help: 'plaintext xDS (gRPC ADS)', defaultText: '127.0.0.1:15010' },
    { name: 'monitoring', kind: 'string', valueName: '<host:port>', help: 'metrics, /ready, /debug/syncz, /debug/configz', defaultText: '127.0.0.1:15014' },
    { name: 'debounce-after', kind: 'string', valueName: '<duration>', help: 'quiet period before a change is pushed (Istio PILOT_DEBOUNCE_AFTER)', defaultText: '100ms' },
    { name: 'debounce-max', kind: 'string', valueName: '<duration>', help: 'longest a stream of changes may delay a push (PILOT_DEBOUNCE_MAX)', defaultText: '10s' },
    ALLOW_UNENFORCED_SECURITY,
    CREDENTIALS_DIR_FLAG,
    ...CA_FLAGS,
    ...WEBHOOK_FLAGS,
    ...DASHBOARD_FLAGS,
  ],
  epilog: [
    'Example: seed 000 served by the control plane to a wasmesh gateway and to stock Envoy:',
    '  wasmesh control-plane -f examples/000-web-demo/00-web-services.yaml -f examples/000-web-demo/02-web-demo-service-gateway.yaml -f examples/000-web-demo/03-web-demo-80-20.yaml',
    '  wasmesh proxy --xds 127.0.0.1:15010 --gateway web-gateway --listen 127.0.0.1:8080 --admin 127.0.0.1:15000',
    '  wasmesh envoy-bootstrap --xds 127.0.0.1:15010 --labels istio=ingressgateway > envoy.yaml && envoy -c envoy.yaml',
    '  wasmesh grpc-bootstrap --xds 127.0.0.1:15010 > grpc.json && GRPC_XDS_BOOTSTRAP=grpc.json node client.js   # xds:///<host>:<port>',
    '  wasmesh proxy-status',
    'The sidecar injection webhook (certificate from the CA), and its MutatingWebhookConfiguration:',
    '  wasmesh control-plane -f mesh/ --ca-dir ./ca --webhook-listen 0.0.0.0:15017',
    '  wasmesh install --webhook-only --ca-dir ./ca | kubectl apply -f -',
  ],
};

function durationFlag(command: string, flag: string, text: string): number {
  const r = parseDuration(text);
  if (!r.ok) throw new UsageError(command, `${flag}: ${r.reason}`);
  return r.ms;
}

export async function controlPlaneCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(CONTROL_PLANE_SPEC, argv);
  if (help) {
    io.out(formatHelp(CONTROL_PLANE_SPEC));
    return 0;
  }
  const cmd = CONTROL_PLANE_SPEC.command;
  const files = (values.file as string[] | undefined) ?? [];
  const kube = values.kube === true;
  if (files.length === 0 && !kube) throw new UsageError(cmd, 'at least one -f <file|dir> (or --kube) is required');
  const xdsAt = hostPortFlag(cmd, '--xds-listen', (values['xds-listen'] as string | undefined) ?? '127.0.0.1:15010');
  const monAt = hostPortFlag(cmd, '--monitoring', (values.monitoring as string | undefined) ?? '127.0.0.1:15014');
  const quietMs = durationFlag(cmd, '--debounce-after', (values['debounce-after'] as string | undefined) ?? '100ms');
  const maxDelayMs = durationFlag(cmd, '--debounce-max', (values['debounce-max'] as string | undefined) ?? '10s');
  if (maxDelayMs < quietMs) throw new UsageError(cmd, '--debounce-max must be at least --debounce-after');
  const log = (level: 'info' | 'warn' | 'error', message: string): void => io.err(logLine(level, message));
  // Each change re-reads the sources; files whose text is unchanged are not parsed again.
  const cache = new ReadCache();
  const caOptions = caFromFlags(cmd, values);
  if (!kube && caOptions?.kubeTokens !== true && values.kubeconfig !== undefined) throw new UsageError(cmd, '--kubeconfig needs --kube or --kube-tokens');
  if (!kube && values['istio-namespace'] !== undefined) throw new UsageError(cmd, '--istio-namespace needs --kube');
  const istioNamespace = (values['istio-namespace'] as string | undefined) ?? (process.env.POD_NAMESPACE || DEFAULT_ISTIO_NAMESPACE);
  let access: KubeAccess | null = null;
  if (caOptions?.kubeTokens === true) {
    try {
      access = kubeAccess(values.kubeconfig as string | undefined);
    } catch (err) {
      io.err(`${cmd}: --kube-tokens: ${(err as Error).message}\n`);
      return 1;
    }
  }
  let reviewer: KubeTokenReviewer | null = null;
  const dashboardPlan = dashboardFromFlags(cmd, values);
  const webhookPlan = webhookFromFlags(cmd, values, caOptions !== null);
  let dashboard: DashboardServer | null = null;
  let ca: CaService | null = null;
  let kubeSource: KubeResourceSource | null = null;
  let events: RejectionEvents | null = null;
  if (kube) {
    let watchAccess: KubeAccess;
    try {
      watchAccess = access ?? kubeAccess(values.kubeconfig as string | undefined);
    } catch (err) {
      io.err(`${cmd}: ${(err as Error).message}\n`);
      return 1;
    }
    kubeSource = new KubeResourceSource(watchAccess, { log, istioNamespace, onRejected: (r) => events?.report(r) });
    events = new RejectionEvents(kubeSource.api, log);
    log('info', `kube: listing and watching ${watchAccess.origin}`);
    await kubeSource.start();
  }
  let rootCerts: RootCertPublisher | null = null;
  let caBundle: WebhookCaBundlePatcher | null = null;
  // Which namespaces the mesh takes (meshConfig discoverySelectors), as of the last read.
  let discovered: (namespace: string) => boolean = () => true;
  const readAll = (s: string[]): ReturnType<typeof readConfig> => {
    if (kubeSource === null) return readConfig(s, undefined, cache);
    const read = readWithKube(s, cache, kubeSource);
    discovered = read.discovered;
    rootCerts?.poke();
    return read;
  };
  let webhook: InjectionWebhookServer | null = null;
  const cp = new ControlPlane({
    sources: files,
    read: readAll,
    ...(kubeSource !== null ? { feeds: [kubeSource] } : {}),
    allowUnenforcedSecurity: values['allow-unenforced-security'] === true,
    credentialsDir: credentialsDirFromFlags(cmd, values),
    // With its CA the mesh's proxies hold workload certificates: mTLS settings are enforced.
    workloadIdentity: caOptions !== null,
    ...(caOptions !== null ? { trustDomain: caOptions.trustDomain } : {}),
    debounce: { quietMs, maxDelayMs },
    log,
  });
  const monitoring = new MonitoringServer(cp);
  if (kubeSource !== null) {
    monitoring.showKube(kubeSource);
    monitoring.showKubeWriters(() => ({
      eventsSent: events?.stats.sent ?? 0,
      eventsFailed: events?.stats.failed ?? 0,
      rootCertWrites: (rootCerts?.stats.created ?? 0) + (rootCerts?.stats.updated ?? 0),
      caBundlePatches: caBundle?.stats.patches ?? 0,
      failing: [rootCerts?.lastError, caBundle?.lastError].filter((e) => e !== null && e !== undefined).length,
    }));
  }
  try {
    cp.start();
    await cp.listen(xdsAt.host, xdsAt.port);
    await monitoring.listen(monAt.host, monAt.port);
    // Loaded only with --ca-dir: the X.509 library costs ~0.3 s at start.
    if (access !== null) reviewer = await import('../identity/kube-token-review.js').then((m) => new m.KubeTokenReviewer(access!));
    if (caOptions) ca = await import('../identity/ca-service.js').then((m) => m.startCaService({
      dir: caOptions.dir,
      trustDomain: caOptions.trustDomain,
      certTtlMs: caOptions.certTtlMs,
      keyAlgorithm: caOptions.keyAlgorithm,
      listen: caOptions.listen,
      ...(reviewer !== null ? { kubeTokens: reviewer } : {}),
      log,
      // istiod's 15012: the CSR API and xDS on one TLS port, xDS streams authenticated by the client certificate or the token.
      alsoServe: (server, authenticate) => cp.ads.attach(server, authenticate),
    }));
    if (ca) monitoring.showCa({ stats: () => ca!.server.stats(), expiry: ca.ca.expiry });
    if (webhookPlan) {
      const { InjectionWebhookServer } = await import('../control-plane/injection-webhook-server.js');
      const files = webhookPlan.files;
      // ENABLE_NATIVE_SIDECARS=auto: on when the API server is Kubernetes >= 1.33 (Istio 1.27+).
      const kubeForVersion = access ?? (kube ? kubeAccess(values.kubeconfig as string | undefined) : null);
      let version: KubeVersion | null = null;
      if (webhookPlan.nativeSidecars === 'auto' && kubeForVersion !== null) {
        const { KubeApi } = await import('../kube/kube-api.js');
        version = await new KubeApi(kubeForVersion).getJson('/version', 10_000).then((v) => kubeVersionOf(v), (err: Error) => {
          log('warn', `injection webhook: cannot read the API server's /version (${err.message}); native sidecars stay off (--webhook-native-sidecars true turns them on)`);
          return null;
        });
      }
      const nativeSidecars = nativeSidecarsFor(webhookPlan.nativeSidecars, version);
      log('info', `injection webhook: native sidecars ${nativeSidecars ? 'on' : 'off'} (${webhookPlan.nativeSidecars}${webhookPlan.nativeSidecars === 'auto' ? `, Kubernetes ${version === null ? 'version unknown' : `${version.major}.${version.minor}`}` : ''})`);
      webhook = new InjectionWebhookServer({
        defaults: { ...webhookPlan.defaults, nativeSidecars },
        tls: files ? { kind: 'files', certPem: files.certPem, keyPem: files.keyPem } : { kind: 'ca', ca: ca!.ca, names: webhookPlan.dnsNames },
        log,
      });
      const at = webhookPlan.listen;
      await webhook.listen(at.host, at.port).catch((err: Error) => {
        throw new Error(`injection webhook: cannot listen on ${at.host}:${at.port} (--webhook-listen): ${err.message}`);
      });
      const w = webhook;
      monitoring.showWebhook(() => w.stats());
    }
    // istiod's controllers that write to the API server: the CA root in every namespace, and the
    // webhook configuration's caBundle (both need the CA: its root is what they publish).
    if (kubeSource !== null && ca !== null) {
      const source = kubeSource;
      const rootPem = (): string => ca!.ca.rootsPem.join('');
      const { RootCertPublisher } = await import('../kube/root-cert-publisher.js');
      rootCerts = new RootCertPublisher({ api: source.api, rootPem, namespaces: () => source.objectsOf('Namespace'), discovered: (ns) => discovered(ns), log });
      source.onChange(() => rootCerts?.poke());
      // Not awaited: a watch that cannot list (403: RBAC) retries with backoff; serving goes on.
      void rootCerts.start();
      if (webhookPlan !== null && webhookPlan.files === null) {
        const { WebhookCaBundlePatcher } = await import('../kube/webhook-ca-bundle.js');
        caBundle = new WebhookCaBundlePatcher({ api: source.api, rootPem, name: webhookPlan.configName, log });
        void caBundle.start();
      }
    }
    if (dashboardPlan) dashboard = await startPlannedDashboard(dashboardPlan, { host: monAt.host, port: monitoring.port });
  } catch (err) {
    io.err(`${cmd}: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
    rootCerts?.close();
    caBundle?.close();
    await cp.close();
    await monitoring.close();
    await ca?.close();
    reviewer?.close();
    await webhook?.close();
    await dashboard?.close();
    return 1;
  }
  for (const w of cp.status().warnings) log('warn', w);
  log('info', `wasmesh control-plane: config version ${cp.version} from ${cp.status().files.length} file(s)${kubeSource !== null ? ' and the Kubernetes API server' : ''}, watching for changes; xDS on ${formatHostPort(xdsAt.host, cp.ads.port)}, monitoring on http://${formatHostPort(monAt.host, monitoring.port)}`);
  if (dashboard) log('info', `dashboard: open ${dashboard.url} (Prometheus ${dashboardPlan!.prometheus.url})`);
  if (access !== null) log('info', `kube tokens: TokenReview against ${access.origin}`);
  if (ca) log('info', `${ca.summary}; xDS (ADS) on the same port over TLS for proxies presenting their workload certificate or a token (wasmesh proxy --xds-tls)`);
  if (webhook) {
    const at = webhookPlan!.listen;
    log('info', `sidecar injection webhook on https://${at.host}:${webhook.port}/inject (AdmissionReview v1); its MutatingWebhookConfiguration: wasmesh install --webhook-only ${webhookPlan!.files ? '--ca-bundle <the PEM roots of --webhook-cert>' : `--ca-dir ${caOptions!.dir}`}`);
  }
  const signal = await untilStopped(io, () => cp.requestReload());
  log('info', `${signal}: shutting down`);
  rootCerts?.close();
  caBundle?.close();
  await cp.close();
  await monitoring.close();
  await ca?.close();
  reviewer?.close();
  await webhook?.close();
  await dashboard?.close();
  log('info', 'stopped');
  return 0;
}
