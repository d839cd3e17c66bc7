// The flags that point a proxy at the control plane instead of files (`--xds host:port`), and the
// identity it gives itself there, as Istio's agent does: the proxy type (a gateway is a `router`,
// anything else a `sidecar`), pod name and IP from POD_NAME and INSTANCE_IP (the hostname and
// 127.0.0.1 when unset), namespace and labels from --namespace and --labels.
import { hostname } from 'node:os';
import type { FlagSpec, FlagValues } from './args.js';
import { hostPortFlag, UsageError } from './args.js';
import type { HostPort } from '../common/host-port.js';
import type { XdsIdentity } from '../control/xds-config-source.js';

export const XDS_FLAGS: FlagSpec[] = [
  { name: 'xds', kind: 'string', valueName: '<host:port>', help: 'take the config from this control plane over xDS (instead of -f); e.g. 127.0.0.1:15010' },
  { name: 'proxy-type', kind: 'string', valueName: '<router|sidecar>', help: 'with --xds: the Istio proxy type; router serves the Gateway its labels select (or --gateway)', defaultText: 'router with --gateway, else sidecar' },
];

export interface XdsChoice {
  xds: HostPort;
  identity: XdsIdentity;
}

/** The xDS settings, or null without --xds; --xds and -f together are a usage error. */
export function xdsFromFlags(command: string, values: FlagValues, files: string[], labels: Record<string, string> | undefined, env: NodeJS.ProcessEnv = process.env): XdsChoice | null {
  const at = values.xds as string | undefined;
  if (at === undefined) {
    if (values['proxy-type'] !== undefined) throw new UsageError(command, '--proxy-type goes with --xds');
    return null;
  }
  if (files.length > 0) throw new UsageError(command, '-f and --xds exclude each other: the config comes either from files or from the control plane');
  const xds = hostPortFlag(command, '--xds', at);
  if (xds.port === 0) throw new UsageError(command, '--xds: the control plane\'s port cannot be 0');
  const gateway = values.gateway as string | undefined;
  const type = (values['proxy-type'] as string | undefined) ?? (gateway !== undefined ? 'router' : 'sidecar');
  if (type !== 'router' && type !== 'sidecar') throw new UsageError(command, `--proxy-type: expected router or sidecar, got "${type}"`);
  if (type === 'sidecar' && gateway !== undefined) throw new UsageError(command, '--gateway makes a router; --proxy-type sidecar contradicts it');
  return {
    xds,
    identity: {
      type,
      pod: env.POD_NAME || hostname(),
      ip: env.INSTANCE_IP || '127.0.0.1',
      namespace: (values.namespace as string | undefined) ?? env.POD_NAMESPACE ?? 'default',
      labels: labels ?? {},
      gateway,
      // --service-account (the identity flags') names the account the token proves; the env as Istio's agent otherwise.
      serviceAccount: (values['service-account'] as string | undefined) ?? env.SERVICE_ACCOUNT,
    },
  };
}
