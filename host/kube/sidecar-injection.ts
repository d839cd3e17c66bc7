// The sidecar injection of one pod, in the shape `istioctl kube-inject` gives it (Istio's
// injection template: the `istio-init` init container, the `istio-proxy` container, its volumes,
// the status annotation and the mesh labels), mapped onto wasmesh's one image: the init runs the
// image's `init` mode with istio-iptables flags, the proxy its `sidecar` mode with the env
// docker/entrypoint.sh reads (WASMESH_APP_PORTS, WASMESH_LABELS, WASMESH_INTERCEPTION_MODE, and
// Istio's POD_NAMESPACE / ISTIO_META_POD_PORTS). App probes are rewritten to the sidecar's
// /app-health/ prober on 15020 as Istio does (host/kube/probe-rewrite.ts). With native sidecars
// (`sidecar.istio.io/nativeSidecar`, istiod's ENABLE_NATIVE_SIDECARS) istio-proxy is an init
// container with `restartPolicy: Always` instead of a container.
import type { PodTemplate } from './pod-template.js';
import { A_REWRITE_PROBES, rewriteAppProbes } from './probe-rewrite.js';
import { TemplateShapeError } from './pod-template.js';
import {
  A_INJECT, A_INTERCEPTION, A_STATUS, InjectSettingError, podInjectSettings, type InjectDefaults, type PodInjectSettings,
} from './injection-settings.js';

export const INIT_NAME = 'istio-init';
export const PROXY_NAME = 'istio-proxy';
export const PROXY_UID = 1337;
/** The sidecar's own ports (wasmesh sidecar): never an app port, never captured inbound. */
export const SIDECAR_OWN_PORTS = [15000, 15001, 15006, 15020, 15021, 15090] as const;
const VOLUMES = ['istio-envoy', 'podinfo', 'istio-token', 'istiod-ca-cert'];
/** Istio's defaults for the proxy's resources (global.proxy.resources), used for both containers. */
const RESOURCES = { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } };
/** Istio's `pilot-agent wait` defaults: give up after 60 s. */
const HOLD_TIMEOUT_S = 60;

/** Which workload the pod belongs to: the ISTIO_META_WORKLOAD_NAME / OWNER and canonical name. */
export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

/**
 * `warnings`: what is injected but will not work as meant (kube-inject prints them, the webhook
 * returns them as the AdmissionResponse's warnings, which kubectl shows).
 */
export type InjectOutcome = { injected: true; settings: PodInjectSettings; warnings: string[] } | { injected: false; reason: string };

/** Kubernetes' default terminationGracePeriodSeconds. */
const DEFAULT_GRACE_S = 30;

type Obj = Record<string, unknown>;

/**
 * Injects the sidecar into `pod` in place, or says why not (opted out, already injected,
 * hostNetwork). Bad annotations or ports throw InjectSettingError / TemplateShapeError with a
 * path inside the pod template.
 */
export function injectPod(pod: PodTemplate, workload: WorkloadRef, defaults: InjectDefaults): InjectOutcome {
  const annotations = objectAt(pod.metadata, 'annotations', 'metadata.annotations');
  const labels = objectAt(pod.metadata, 'labels', 'metadata.labels');
  const optOut = annotations[A_INJECT] ?? labels[A_INJECT];
  if (optOut === 'false' || optOut === false) return { injected: false, reason: `${A_INJECT} is "false"` };
  if (annotations[A_STATUS] !== undefined) return { injected: false, reason: `already injected (${A_STATUS} is set)` };
  const containers = pod.spec.containers as Obj[];
  const inits = pod.spec.initContainers === undefined ? [] : (pod.spec.initContainers as Obj[]);
  if (!Array.isArray(inits)) throw new TemplateShapeError('spec.initContainers', 'must be a list', true);
  if (containers.some((c) => c?.name === PROXY_NAME) || inits.some((c) => c?.name === INIT_NAME)) {
    return { injected: false, reason: `already injected (a container is named ${PROXY_NAME} or ${INIT_NAME})` };
  }
  if (pod.spec.hostNetwork === true) return { injected: false, reason: 'spec.hostNetwork is true: capture rules would take the node\'s traffic' };

  const settings = podInjectSettings(annotations, defaults);
  const podPorts = containerPorts(containers);
  const tcpPorts = [...new Set(podPorts.filter((p) => p.port.protocol === undefined || p.port.protocol === 'TCP').map((p) => p.port.containerPort as number))];
  const includeInbound = settings.includeInboundPorts ?? tcpPorts.join(',');
  const appPorts = includeInbound === '*' || includeInbound === '' ? tcpPorts : includeInbound.split(',').map(Number);
  for (const p of appPorts) {
    if ((SIDECAR_OWN_PORTS as readonly number[]).includes(p)) {
      const at = podPorts.find((x) => x.port.containerPort === p);
      throw new InjectSettingError(at?.path ?? `metadata.annotations["traffic.sidecar.istio.io/includeInboundPorts"]`, `port ${p} is one of the sidecar's own ports (${SIDECAR_OWN_PORTS.join(', ')}); the app cannot use it in an injected pod`);
    }
  }
  if (appPorts.length === 0) {
    throw new InjectSettingError('spec.containers[*].ports', 'no TCP containerPort: the wasmesh sidecar needs the app\'s ports (WASMESH_APP_PORTS); declare the ports, or opt the pod out with sidecar.istio.io/inject: "false"');
  }
  const image = typeof annotations['sidecar.istio.io/proxyImage'] === 'string' ? (annotations['sidecar.istio.io/proxyImage'] as string) : defaults.image;

  const init = initContainer(image, settings, includeInbound);
  const rewrite = annotations[A_REWRITE_PROBES] !== 'false' && annotations[A_REWRITE_PROBES] !== false;
  const probers = rewrite ? rewriteAppProbes(containers) : {};
  const proxy = proxyContainer(image, settings, defaults, workload, pod, podPorts.map((p) => p.port), appPorts, containers, probers);
  if (settings.nativeSidecar) {
    // Kubernetes native sidecar (1.29+): a restartable init container right after istio-init.
    // The kubelet starts what follows (the pod's own init containers, then the app) only once its
    // startupProbe passed, keeps it running beside the app, and stops it after the app containers
    // exited — so a Job completes, and the app's shutdown still has its proxy.
    proxy.restartPolicy = 'Always';
    pod.spec.initContainers = [init, proxy, ...inits];
  } else {
    pod.spec.initContainers = [init, ...inits];
    pod.spec.containers = settings.holdApplicationUntilProxyStarts ? [proxy, ...containers] : [...containers, proxy];
  }
  const volumes = pod.spec.volumes === undefined ? [] : pod.spec.volumes;
  if (!Array.isArray(volumes)) throw new TemplateShapeError('spec.volumes', 'must be a list', true);
  pod.spec.volumes = [...volumes, ...proxyVolumes()];

  const first = containers[0]?.name;
  setDefault(annotations, 'kubectl.kubernetes.io/default-container', first);
  setDefault(annotations, 'kubectl.kubernetes.io/default-logs-container', first);
  // Istio's metrics merge: scrape the agent port (15020), where `wasmesh sidecar` serves the
  // proxy's Prometheus text. A pod's own prometheus.io annotations are kept (not merged).
  if (annotations['prometheus.io/scrape'] !== 'false' && annotations['prometheus.io/port'] === undefined && annotations['prometheus.io/path'] === undefined) {
    annotations['prometheus.io/scrape'] = 'true';
    annotations['prometheus.io/port'] = '15020';
    annotations['prometheus.io/path'] = '/stats/prometheus';
  }
  setDefault(annotations, 'istio.io/rev', 'default');
  annotations[A_INTERCEPTION] = settings.interceptionMode;
  const status = settings.nativeSidecar ? { initContainers: [INIT_NAME, PROXY_NAME], containers: [] as string[] } : { initContainers: [INIT_NAME], containers: [PROXY_NAME] };
  annotations[A_STATUS] = JSON.stringify({ ...status, volumes: VOLUMES, imagePullSecrets: null, revision: 'default' });
  pod.metadata.annotations = annotations;
  labels['security.istio.io/tlsMode'] = 'istio';
  setDefault(labels, 'service.istio.io/canonical-name', canonicalName(labels, workload));
  setDefault(labels, 'service.istio.io/canonical-revision', (labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest') as string);
  pod.metadata.labels = labels;
  return { injected: true, settings, warnings: graceWarnings(pod, settings) };
}

/**
 * The kubelet SIGKILLs what still runs when terminationGracePeriodSeconds is over: a grace period
 * not above terminationDrainDuration cuts the sidecar's drain (with a native sidecar the period
 * must also cover the app's own shutdown, which comes first).
 */
function graceWarnings(pod: PodTemplate, s: PodInjectSettings): string[] {
  const set = pod.spec.terminationGracePeriodSeconds;
  const grace = typeof set === 'number' ? set : DEFAULT_GRACE_S;
  if (grace > s.terminationDrainSeconds) return [];
  return [
    `spec.terminationGracePeriodSeconds (${grace} s${typeof set === 'number' ? '' : ', the default'}) is not above terminationDrainDuration (${s.terminationDrainSeconds} s): ` +
      `the kubelet kills istio-proxy before its drain ends${s.nativeSidecar ? ' (and a native sidecar drains only after the app exited)' : ''}; raise it, or lower terminationDrainDuration in proxy.istio.io/config`,
  ];
}

/** The init container: the image's `init` mode with istio-iptables' flags. */
function initContainer(image: string, s: PodInjectSettings, includeInbound: string): Obj {
  const args = [
    'init', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', s.interceptionMode,
    '-i', s.includeOutboundIPRanges, '-x', s.excludeOutboundIPRanges,
    '-b', includeInbound, '-d', ['15090', '15021', '15020', ...(s.excludeInboundPorts === '' ? [] : s.excludeInboundPorts.split(','))].join(','),
  ];
  if (s.excludeOutboundPorts !== '') args.push('-o', s.excludeOutboundPorts);
  return {
    name: INIT_NAME,
    image,
    args,
    resources: structuredClone(RESOURCES),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

function fieldEnv(name: string, fieldPath: string): Obj {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** The proxy container: the image's `sidecar` mode, configured by env. */
function proxyContainer(
  image: string, s: PodInjectSettings, d: InjectDefaults, w: WorkloadRef, pod: PodTemplate,
  ports: Obj[], appPorts: number[], containers: Obj[], probers: Record<string, Obj>,
): Obj {
  const labels = (pod.metadata.labels ?? {}) as Obj;
  const labelText = Object.entries(labels).filter(([, v]) => typeof v === 'string').map(([k, v]) => `${k}=${v as string}`).join(',');
  const resource = `${w.kind.toLowerCase()}s`;
  const env: Obj[] = [
    { name: 'CA_ADDR', value: s.discoveryAddress },
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    // Every pod address (dual-stack: both families): the sidecar's app loopback and listener
    // wildcard follow the pod's families (host/model/ip-families.ts, docker/entrypoint.sh).
    fieldEnv('INSTANCE_IPS', 'status.podIPs'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldEnv('HOST_IP', 'status.hostIP'),
    { name: 'PROXY_CONFIG', value: JSON.stringify({ ...s.proxyConfig, discoveryAddress: s.discoveryAddress }) },
    { name: 'ISTIO_META_POD_PORTS', value: JSON.stringify(ports) },
    { name: 'ISTIO_META_APP_CONTAINERS', value: containers.map((c) => c.name).join(',') },
    { name: 'ISTIO_META_CLUSTER_ID', value: d.clusterId },
    fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    { name: 'ISTIO_META_INTERCEPTION_MODE', value: s.interceptionMode },
    { name: 'ISTIO_META_WORKLOAD_NAME', value: w.name },
    { name: 'ISTIO_META_OWNER', value: `kubernetes://apis/${w.apiVersion}/namespaces/${w.namespace}/${resource}/${w.name}` },
    { name: 'ISTIO_META_MESH_ID', value: d.trustDomain },
    { name: 'TRUST_DOMAIN', value: d.trustDomain },
    ...Object.entries(s.proxyMetadata).map(([name, value]) => ({ name, value })),
    ...(Object.keys(probers).length === 0 ? [] : [{ name: 'ISTIO_KUBE_APP_PROBERS', value: JSON.stringify(probers) }]),
    { name: 'WASMESH_APP_PORTS', value: appPorts.join(',') },
    ...(labelText === '' ? [] : [{ name: 'WASMESH_LABELS', value: labelText }]),
    { name: 'WASMESH_INTERCEPTION_MODE', value: s.interceptionMode },
    // pilot-agent's env for ProxyConfig terminationDrainDuration: the sidecar's SIGTERM drain deadline.
    { name: 'TERMINATION_DRAIN_DURATION_SECONDS', value: String(s.terminationDrainSeconds) },
  ];
  // TPROXY: the entrypoint starts as root to make the transparent listeners (CAP_NET_ADMIN), and
  // the helper drops to uid 1337 (CAP_SETUID/CAP_SETGID) before exec'ing the sidecar.
  const securityContext = s.interceptionMode === 'TPROXY'
    ? { allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN', 'SETUID', 'SETGID'], drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsGroup: PROXY_UID, runAsNonRoot: false, runAsUser: 0 }
    : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsGroup: PROXY_UID, runAsNonRoot: true, runAsUser: PROXY_UID };
  const proxy: Obj = {
    name: PROXY_NAME,
    image,
    args: ['sidecar'],
    env,
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: { failureThreshold: 4, httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 15, timeoutSeconds: 3 },
    startupProbe: { failureThreshold: 600, httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 1, timeoutSeconds: 3 },
    resources: structuredClone(RESOURCES),
    securityContext,
    volumeMounts: [
      { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert' },
      { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
      { mountPath: '/var/run/secrets/tokens', name: 'istio-token' },
      { mountPath: '/etc/istio/pod', name: 'podinfo' },
    ],
  };
  // A native sidecar holds the app back by its startupProbe: no postStart hook needed (Istio drops it too).
  if (s.holdApplicationUntilProxyStarts && !s.nativeSidecar) {
    // Istio's `pilot-agent wait`: the kubelet starts the next container only when postStart
    // returns, so the app starts once the proxy answers its readiness check (or after 60 s, failed).
    proxy.lifecycle = {
      postStart: {
        exec: {
          command: ['sh', '-c', `i=0; until node /app/docker/healthcheck.mjs >/dev/null 2>&1; do i=$((i+1)); [ "$i" -ge ${HOLD_TIMEOUT_S * 2} ] && exit 1; sleep 0.5; done`],
        },
      },
    };
  }
  return proxy;
}

function proxyVolumes(): Obj[] {
  return [
    { emptyDir: { medium: 'Memory' }, name: 'istio-envoy' },
    {
      downwardAPI: { items: [{ fieldRef: { fieldPath: 'metadata.labels' }, path: 'labels' }, { fieldRef: { fieldPath: 'metadata.annotations' }, path: 'annotations' }] },
      name: 'podinfo',
    },
    { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
    // optional: wasmesh's control plane does not create istio-ca-root-cert in each namespace yet.
    { configMap: { name: 'istio-ca-root-cert', optional: true }, name: 'istiod-ca-cert' },
  ];
}

/** Every declared container port, with where it is (for errors). */
function containerPorts(containers: Obj[]): { port: Obj; path: string }[] {
  const out: { port: Obj; path: string }[] = [];
  containers.forEach((c, i) => {
    if (c === null || typeof c !== 'object') throw new TemplateShapeError(`spec.containers[${i}]`, 'must be an object', true);
    if (typeof c.name !== 'string' || c.name === '') throw new TemplateShapeError(`spec.containers[${i}].name`, 'a container needs a name', true);
    if (c.ports === undefined || c.ports === null) return;
    if (!Array.isArray(c.ports)) throw new TemplateShapeError(`spec.containers[${i}].ports`, 'must be a list', true);
    c.ports.forEach((p: unknown, j: number) => {
      const path = `spec.containers[${i}].ports[${j}]`;
      const port = p as Obj;
      if (p === null || typeof p !== 'object' || !Number.isInteger(port.containerPort) || (port.containerPort as number) < 1 || (port.containerPort as number) > 65535) {
        throw new TemplateShapeError(`${path}.containerPort`, 'must be an integer from 1 to 65535', true);
      }
      out.push({ port, path: `${path}.containerPort` });
    });
  });
  return out;
}

function objectAt(parent: Obj, key: string, path: string): Obj {
  const v = parent[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateShapeError(path, 'must be a map', true);
  return v as Obj;
}

function setDefault(map: Obj, key: string, value: unknown): void {
  if (map[key] === undefined && value !== undefined) map[key] = value;
}

/** Istio's canonical service name: app.kubernetes.io/name, app, else the workload's name. */
function canonicalName(labels: Obj, w: WorkloadRef): string {
  return (labels['app.kubernetes.io/name'] ?? labels.app ?? w.name) as string;
}
