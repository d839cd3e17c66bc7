// A listen address (`host:port`), the value type every listener, admin and health port is
// given as; parsed here, below every layer that takes one, so that the CLI's flags, the
// runtime and the demo agree on its syntax.
import { isIP, SocketAddress } from 'node:net';

/** A listen or admin address. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Text that is not a host:port or a port. The message leaves out what was being parsed: the
 * caller prefixes its subject (`--listen "8080" is not host:port`).
 */
export class HostPortError extends Error {
  readonly code = 'host_port_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'HostPortError';
  }
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (loopback). Port 0 asks the OS for a free port.
 * Throws HostPortError.
 */
export function parseHostPort(text: string): HostPort {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') throw new HostPortError(`"${text}" is not host:port`);
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) throw new HostPortError(`"${text}" is not host:port (for example 127.0.0.1:8080)`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new HostPortError(`"${text}": write IPv6 addresses as [addr]:port`);
  }
  // A bare `:port` binds loopback: listening on every interface has to be asked for by name.
  if (host === '') host = '127.0.0.1';
  return { host, port: parsePort(portText) };
}

/**
 * `host:port` as Envoy prints an address (and as parseHostPort reads it back): an IPv6 address
 * in brackets (`[::1]:8080`; one already in brackets is not bracketed again), anything else as it is
 * (`10.0.0.1:80`, `web:80`).
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && host.charCodeAt(0) !== 0x5b /* [ */ ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A socket's address and port as Envoy prints them: formatHostPort, with an IPv4-mapped address
 * (what a dual-stack `[::]` socket reports for an IPv4 peer) as its IPv4 address, as Envoy reads
 * the addresses of a socket that is not IPv6-only.
 */
export function formatSocketAddress(address: string, port: number): string {
  return formatHostPort(unmappedAddress(address), port);
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:10.0.0.1` → `10.0.0.1`, as a
 * dual-stack `[::]` socket reports IPv4 peers); any other text unchanged.
 */
export function unmappedAddress(address: string): string {
  if (address.length < 14 || !/^::ffff:/i.test(address)) return address;
  const v4 = address.slice(7);
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(v4) ? v4 : address;
}

/**
 * One spelling per IP address, to compare a configured address with a socket's: an
 * IPv4-mapped address as its IPv4 address, IPv6 compressed and lower-cased as the kernel prints
 * it (`FD00:0:0::5` → `fd00::5`); text that is not an IP address unchanged.
 */
export function canonicalAddress(address: string): string {
  const a = unmappedAddress(address);
  // A zone (`fe80::1%eth0`) is kept as written: SocketAddress would drop it.
  if (isIP(a) !== 6 || a.includes('%')) return a;
  return new SocketAddress({ address: a, family: 'ipv6' }).address;
}

/** Parses a TCP port number 0..65535 (0: any free port). Throws HostPortError. */
export function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new HostPortError(`port "${text}" is not a number`);
  const port = Number(text);
  if (port > 65535) throw new HostPortError(`port ${port} is out of range (0-65535)`);
  return port;
}
