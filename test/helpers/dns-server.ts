// A tiny authoritative DNS server over UDP on loopback for the DNS refresh tests: answers A
// queries from a table the test changes (addresses and TTL per name), SERVFAIL for a name marked
// failing, NXDOMAIN for an unknown one, and counts the queries per name. Speaks just enough of
// RFC 1035 for node:dns's Resolver (c-ares): one question, answers by a pointer to it.
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';

export interface DnsRecordSet {
  addresses: string[];
  ttl: number;
}

export interface TestDnsServer {
  readonly port: number;
  /** name (lower-case, no trailing dot) → answer; 'fail': SERVFAIL; absent: NXDOMAIN. */
  readonly zone: Map<string, DnsRecordSet | 'fail'>;
  /** A queries received per name. */
  readonly queries: Map<string, number>;
  /** A node:dns Resolver that asks only this server (short timeout, one try). */
  resolver(): Resolver;
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const zone = new Map<string, DnsRecordSet | 'fail'>();
  const queries = new Map<string, number>();
  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, peer) => {
    if (msg.length < 12) return;
    const qdcount = msg.readUInt16BE(4);
    if (qdcount !== 1) return;
    const labels: string[] = [];
    let at = 12;
    while (at < msg.length && msg[at] !== 0) {
      const n = msg[at]!;
      labels.push(msg.subarray(at + 1, at + 1 + n).toString('latin1'));
      at += 1 + n;
    }
    const qEnd = at + 5; // zero byte, qtype, qclass
    if (qEnd > msg.length) return;
    const qtype = msg.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    const entry = zone.get(name);
    if (qtype === 1) queries.set(name, (queries.get(name) ?? 0) + 1);
    let rcode = 0;
    const answers: Buffer[] = [];
    if (entry === undefined) rcode = 3;
    else if (entry === 'fail') rcode = 2;
    else if (qtype === 1) {
      for (const a of entry.addresses) {
        const rr = Buffer.alloc(16);
        rr.writeUInt16BE(0xc00c, 0);
        rr.writeUInt16BE(1, 2);
        rr.writeUInt16BE(1, 4);
        rr.writeUInt32BE(entry.ttl, 6);
        rr.writeUInt16BE(4, 10);
        a.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
        answers.push(rr);
      }
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, opcode 0, AA, RD copied, RA; rcode.
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, msg.subarray(12, qEnd), ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const port = socket.address().port;
  return {
    port,
    zone,
    queries,
    resolver: () => {
      const r = new Resolver({ timeout: 300, tries: 1 });
      r.setServers([`127.0.0.1:${port}`]);
      return r;
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
