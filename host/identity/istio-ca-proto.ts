// Istio's certificate service (the CSR API istiod serves on 15012 and Istio's agent calls), loaded
// with protobufjs and @grpc/proto-loader from its .proto definition below — no codec by hand. The
// definition is kept here as text rather than as a file beside the sources because only compiled
// JavaScript ships (dist/, the container image); its field numbers are Istio's, so the messages are
// wire-compatible with Istio's agent and istiod.
//
// Source: https://github.com/istio/api/blob/master/security/v1alpha1/ca.proto
// Copyright Istio Authors. Licensed under the Apache License, Version 2.0
// (http://www.apache.org/licenses/LICENSE-2.0); reproduced under that license, comments shortened.
import { fromJSON, type PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const ISTIO_CA_PROTO = `
syntax = "proto3";

import "google/protobuf/struct.proto";

// Keep this package for backward compatibility.
package istio.v1.auth;

option go_package="istio.io/api/security/v1alpha1";

// Certificate request message.
message IstioCertificateRequest {
  // PEM-encoded certificate request.
  string csr = 1;
  // Optional: requested certificate validity period, in seconds.
  int64 validity_duration = 3;
  // Optional: opaque metadata provided by the XDS node to Istio.
  google.protobuf.Struct metadata = 4;
}

// Certificate response message.
message IstioCertificateResponse {
  // PEM-encoded certificate chain: the leaf first, the root last.
  repeated string cert_chain = 1;
  // Root certificates (newer, optional): the full trust bundle.
  Roots root_cert = 2;
}
message Roots {
  repeated string ca_cert = 1;
}

// Service for managing certificates issued by the CA.
service IstioCertificateService {
  // Using provided CSR, returns a signed certificate.
  rpc CreateCertificate(IstioCertificateRequest)
      returns (IstioCertificateResponse) {
  }
}
`;

/** The gRPC method path istiod serves and Istio's agent calls. */
export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

export interface IstioCertificateRequest {
  csr: string;
  /** Seconds; proto-loader hands int64 over as a decimal string. */
  validity_duration: string | number;
  metadata?: unknown;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
  root_cert?: { ca_cert: string[] } | null;
}

let loaded: PackageDefinition | null = null;

/** The package definition for @grpc/grpc-js (loaded once). */
export function istioCaPackage(): PackageDefinition {
  if (loaded) return loaded;
  const root = new protobuf.Root();
  // protobufjs ships the well-known types; the import of struct.proto resolves to its copy.
  root.addJSON(protobuf.common.get('google/protobuf/struct.proto')!.nested!);
  protobuf.parse(ISTIO_CA_PROTO, root, { keepCase: true });
  root.resolveAll();
  loaded = fromJSON(root.toJSON(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return loaded;
}
