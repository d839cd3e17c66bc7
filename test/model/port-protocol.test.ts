import { describe, expect, it } from 'vitest';
import { carriedAs, isHttpProtocol, portProtocol, protocolFromName } from '../../host/model/port-protocol.js';

describe('portProtocol (Istio protocol selection)', () => {
  it('takes an explicit protocol or appProtocol before the name', () => {
    expect(portProtocol({ protocol: 'TCP', name: 'http-web' })).toBe('TCP');
    expect(portProtocol({ appProtocol: 'grpc', name: 'tcp-db' })).toBe('GRPC');
    expect(portProtocol({ protocol: 'GRPC-WEB' })).toBe('GRPC_WEB');
  });
  it('reads the name prefix up to the first dash, grpc-web as a whole', () => {
    expect(portProtocol({ name: 'http' })).toBe('HTTP');
    expect(portProtocol({ name: 'http2-api' })).toBe('HTTP2');
    expect(portProtocol({ name: 'grpc-web' })).toBe('GRPC_WEB');
    expect(portProtocol({ name: 'grpc-web-ui' })).toBe('GRPC_WEB');
    expect(portProtocol({ name: 'grpc-api' })).toBe('GRPC');
    expect(portProtocol({ name: 'Redis-cache' })).toBe('REDIS');
    expect(portProtocol({ name: 'mysql' })).toBe('MYSQL');
  });
  it('sniffs unnamed and unknown ports', () => {
    expect(portProtocol({})).toBe('AUTO');
    expect(portProtocol({ name: 'web' })).toBe('AUTO');
    expect(portProtocol({ name: 'httpx' })).toBe('AUTO');
    expect(portProtocol({ protocol: 'SCTP' })).toBe('AUTO');
  });
  it('maps protocols to how they are carried', () => {
    expect(carriedAs('GRPC')).toBe('http2');
    // Istio's IsHTTP2 holds for GRPCWeb: the grpc_web filter sends it on as gRPC.
    expect(carriedAs('GRPC_WEB')).toBe('http2');
    expect(carriedAs('HTTP')).toBe('http1');
    expect(carriedAs('MYSQL')).toBe('tcp');
    expect(carriedAs('HTTPS')).toBe('tcp');
    expect(carriedAs('AUTO')).toBe('sniff');
    expect(isHttpProtocol('HTTP2')).toBe(true);
    expect(isHttpProtocol('TLS')).toBe(false);
    expect(protocolFromName('nope')).toBeNull();
  });
});
