// Zod schemas for the security.istio.io resources, field for field after istio/api's security
// v1beta1 protos (v1 is the same messages). wasmesh enforces none of them yet; they are read
// strictly anyway (proto names accepted, as for networking), because whether one asks for protection is decided from its fields, and a
// misspelt field (`mtls: {mod: STRICT}`) must not read as "asks for nothing".
import { z } from 'zod';
import { duration, message } from './istio-schemas.js';

const str = z.string();
const strList = z.array(z.string());
const labels = z.record(z.string(), z.string());

const workloadSelector = message({ matchLabels: labels.optional() });
const policyTargetReference = message({ group: str.optional(), kind: str, name: str, namespace: str.optional() });
const mtlsMode = z.enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);

export const peerAuthenticationSpec = message({
  selector: workloadSelector.optional(),
  mtls: message({ mode: mtlsMode.optional() }).optional(),
  // Keys are workload ports; YAML writes them as numbers, JSON as strings.
  portLevelMtls: z.record(z.string(), message({ mode: mtlsMode.optional() })).optional(),
});

const source = message({
  principals: strList.optional(),
  notPrincipals: strList.optional(),
  requestPrincipals: strList.optional(),
  notRequestPrincipals: strList.optional(),
  namespaces: strList.optional(),
  notNamespaces: strList.optional(),
  serviceAccounts: strList.optional(),
  notServiceAccounts: strList.optional(),
  ipBlocks: strList.optional(),
  notIpBlocks: strList.optional(),
  remoteIpBlocks: strList.optional(),
  notRemoteIpBlocks: strList.optional(),
});

const operation = message({
  hosts: strList.optional(),
  notHosts: strList.optional(),
  ports: strList.optional(),
  notPorts: strList.optional(),
  methods: strList.optional(),
  notMethods: strList.optional(),
  paths: strList.optional(),
  notPaths: strList.optional(),
});

export const authorizationRule = message({
  from: z.array(message({ source: source.optional() })).optional(),
  to: z.array(message({ operation: operation.optional() })).optional(),
  when: z.array(message({ key: str, values: strList.optional(), notValues: strList.optional() })).optional(),
});

export const authorizationPolicySpec = message({
  selector: workloadSelector.optional(),
  targetRef: policyTargetReference.optional(),
  targetRefs: z.array(policyTargetReference).optional(),
  rules: z.array(authorizationRule).optional(),
  action: z.enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']).optional(),
  provider: message({ name: str.optional() }).optional(),
});

const jwtRule = message({
  issuer: str.optional(),
  audiences: strList.optional(),
  jwksUri: str.optional(),
  jwks: str.optional(),
  fromHeaders: z.array(message({ name: str, prefix: str.optional() })).optional(),
  fromParams: strList.optional(),
  fromCookies: strList.optional(),
  outputPayloadToHeader: str.optional(),
  forwardOriginalToken: z.boolean().optional(),
  outputClaimToHeaders: z.array(message({ header: str, claim: str })).optional(),
  timeout: duration.optional(),
  spaceDelimitedClaims: strList.optional(),
});

export const requestAuthenticationSpec = message({
  selector: workloadSelector.optional(),
  targetRef: policyTargetReference.optional(),
  targetRefs: z.array(policyTargetReference).optional(),
  jwtRules: z.array(jwtRule).optional(),
});

export const SECURITY_SPEC_SCHEMAS = {
  PeerAuthentication: peerAuthenticationSpec,
  AuthorizationPolicy: authorizationPolicySpec,
  RequestAuthentication: requestAuthenticationSpec,
} as const;

export type SecurityKind = keyof typeof SECURITY_SPEC_SCHEMAS;
export type PeerAuthenticationSpec = z.infer<typeof peerAuthenticationSpec>;
export type AuthorizationPolicySpec = z.infer<typeof authorizationPolicySpec>;
export type AuthorizationRuleSpec = z.infer<typeof authorizationRule>;
export type RequestAuthenticationSpec = z.infer<typeof requestAuthenticationSpec>;
