// PortSwigger's request smuggling permutations (the HTTP Request Smuggler extension's HTTP/1
// Transfer-Encoding and Content-Length obfuscations, and the Web Security Academy's CL.TE,
// TE.CL and TE.TE shapes), each rewritten as a table entry and sent through the real listener.
// A TE permutation is applied to a CL.TE probe: Content-Length covers a body that a
// chunked reader would end early, leaving `GET /smuggled` as a second request. The proxy must
// either refuse the probe or frame it one way and forward it so (one request, its body whole,
// with the proxy's own framing field), never both ways. Its HTTP/2 permutations do not apply
// (no HTTP/2 listener).
import { describe, it, afterAll } from 'vitest';
import { forwarded, chunked, HOST } from './wire-harness.js';
import { Rigs, runWireCase, type WireCase } from './wire-case.js';

const H = `Host: ${HOST}\r\n`;
const h = `host: ${HOST}`;
/** A body a chunked reader ends after `0\r\n\r\n`, leaving a GET for the next request. */
const BODY = `0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`;
const CL = `Content-Length: ${BODY.length}`;
const FWD_LENGTH = `content-length: ${BODY.length}`;

/** The CL.TE probe with `te` in place of `Transfer-Encoding: chunked` (a whole field line, or lines). */
function probe(te: string, line = 'POST / HTTP/1.1'): string {
  return `${line}\r\n${H}${CL}\r\n${te}\r\n\r\n${BODY}`;
}

const refused = (name: string, te: string, status: number, code: string): WireCase => ({ name, send: probe(te), statuses: [status], code, upstream: [] });

/** The probe framed by its Content-Length: one request, the GET inside its body; `kept` forwarded fields. */
const framedByLength = (name: string, te: string, kept: string[]): WireCase => ({
  name, send: probe(te), statuses: [200], upstream: [forwarded('POST / HTTP/1.1', [h, ...kept], FWD_LENGTH, BODY)],
});

/** The special characters the extension tries around the field (NUL, HT, VT, FF, CR, DEL). */
const SPECIAL: Array<[number, string]> = [[0x00, 'NUL'], [0x09, 'HT'], [0x0b, 'VT'], [0x0c, 'FF'], [0x0d, 'CR'], [0x7f, 'DEL']];
const ch = (c: number): string => String.fromCharCode(c);
/** What the core answers for a control byte inside a field value. */
const valueCtl = (c: number): [number, string] => (c === 0x0d ? [400, 'bare_cr'] : [400, 'invalid_header_value']);

const te: WireCase[] = [
  refused('vanilla', 'Transfer-Encoding: chunked', 400, 'te_and_cl'),
  framedByLength('underjoin1 "Transfer_Encoding" (not a framing field here; dropped even under ALLOW, so that no backend reading `_` as `-` sees a second framing field)', 'Transfer_Encoding: chunked', []),
  { ...refused('underjoin1 with REJECT_REQUEST', 'Transfer_Encoding: chunked', 400, 'header_name_with_underscores'), rig: 'reject-underscores' },
  { ...framedByLength('underjoin1 with DROP_HEADER', 'Transfer_Encoding: chunked', []), rig: 'drop-underscores' },
  refused('spacejoin1 "Transfer Encoding"', 'Transfer Encoding: chunked', 400, 'space_before_colon'),
  refused('space1 "Transfer-Encoding :"', 'Transfer-Encoding : chunked', 400, 'space_before_colon'),
  refused('nameprefix1 (folded after "Foo: bar")', 'Foo: bar\r\n Transfer-Encoding: chunked', 400, 'obs_fold'),
  refused('nameprefix2 (tab-folded after "Foo: bar")', 'Foo: bar\r\n\tTransfer-Encoding: chunked', 400, 'obs_fold'),
  refused('valueprefix1 (two spaces before the value)', 'Transfer-Encoding:  chunked', 400, 'te_and_cl'),
  refused('vertwrap (LF VT before the value)', 'Transfer-Encoding: \n\x0bchunked', 400, 'bare_lf'),
  refused('connection (Transfer-Encoding named in Connection)', 'Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked', 400, 'te_and_cl'),
  refused('spjunk "Transfer-Encoding x:"', 'Transfer-Encoding x: chunked', 400, 'space_before_colon'),
  refused('backslash "Transfer\\Encoding"', 'Transfer\\Encoding: chunked', 400, 'invalid_header_name'),
  refused('spaceFF (0xFF instead of the space)', 'Transfer-Encoding:\xffchunked', 400, 'invalid_transfer_encoding'),
  refused('unispace (0xA0 instead of the space)', 'Transfer-Encoding:\xa0chunked', 400, 'invalid_transfer_encoding'),
  refused('commaCow "chunked, identity"', 'Transfer-Encoding: chunked, identity', 400, 'te_and_cl'),
  refused('cowComma "identity, chunked"', 'Transfer-Encoding: identity, chunked', 400, 'te_and_cl'),
  framedByLength('contentEnc "Content-Encoding: chunked" (not framing)', 'Content-Encoding: chunked', ['content-encoding: chunked']),
  refused('quoted "\\"chunked\\""', 'Transfer-Encoding: "chunked"', 400, 'invalid_transfer_encoding'),
  refused("aposed \"'chunked'\"", "Transfer-Encoding: 'chunked'", 400, 'te_and_cl'),
  refused('dualchunk (a second field "Transfer-encoding: identity")', 'Transfer-Encoding: chunked\r\nTransfer-encoding: identity', 400, 'te_and_cl'),
  refused('lazygrep "chunk"', 'Transfer-Encoding: chunk', 400, 'te_and_cl'),
  refused('0dsuffix (CR after the value)', 'Transfer-Encoding: chunked\r', 400, 'bare_cr'),
  refused('tabsuffix (tab after the value)', 'Transfer-Encoding: chunked\t', 400, 'te_and_cl'),
  refused('revdualchunk (identity, then chunked, in two fields)', 'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked', 400, 'te_and_cl'),
  refused('nested "identity, chunked, identity"', 'Transfer-Encoding: identity, chunked, identity', 400, 'te_and_cl'),
  framedByLength('encode "Transfer-%45ncoding" (a distinct field name)', 'Transfer-%45ncoding: chunked', ['transfer-%45ncoding: chunked']),
  refused('accentTE (0x82 in the name)', 'Transf\x82r-Encoding: chunked', 400, 'invalid_header_name'),
  refused('accentCH (0x96 in the value)', 'Transfer-Encoding: ch\x96nked', 400, 'invalid_transfer_encoding'),
  framedByLength('removed (no Transfer-Encoding at all)', 'Nothing-interesting: 1', ['nothing-interesting: 1']),
  { name: 'get (the probe as GET)', send: probe('Transfer-Encoding: chunked', 'GET / HTTP/1.1'), statuses: [400], code: 'te_and_cl', upstream: [] },
  { name: 'options (the probe as OPTIONS)', send: probe('Transfer-Encoding: chunked', 'OPTIONS / HTTP/1.1'), statuses: [400], code: 'te_and_cl', upstream: [] },
  { name: 'head (the probe as HEAD)', send: probe('Transfer-Encoding: chunked', 'HEAD / HTTP/1.1'), statuses: [400], code: 'te_and_cl', upstream: [] },
  refused('range (Range: bytes=0-0 added)', 'Transfer-Encoding: chunked\r\nRange: bytes=0-0', 400, 'te_and_cl'),
  refused('qencode (RFC 2047 iso-8859-1 word)', 'Transfer-Encoding: =?iso-8859-1?B?Y2h1bmtlZA==?=', 400, 'invalid_transfer_encoding'),
  refused('qencodeutf (RFC 2047 UTF-8 word)', 'Transfer-Encoding: =?UTF-8?B?Y2h1bmtlZA==?=', 400, 'invalid_transfer_encoding'),
  refused('nel (0x85 before the colon)', 'Transfer-Encoding\x85: chunked', 400, 'invalid_header_name'),
  refused('nbsp (0xA0 before the colon)', 'Transfer-Encoding\xa0: chunked', 400, 'invalid_header_name'),
  refused('shy2 (0xAD before the colon)', 'Transfer-Encoding\xad: chunked', 400, 'invalid_header_name'),
  refused('shy (0xAD instead of the dash)', 'Transfer\xadEncoding: chunked', 400, 'invalid_header_name'),
  ...SPECIAL.map(([c, n]) => (c === 0x09
    ? refused(`spacefix1:${c} (${n} instead of the space)`, `Transfer-Encoding:${ch(c)}chunked`, 400, 'te_and_cl')
    : refused(`spacefix1:${c} (${n} instead of the space)`, `Transfer-Encoding:${ch(c)}chunked`, ...valueCtl(c)))),
  ...SPECIAL.map(([c, n]) => (c === 0x09
    ? refused(`prefix1:${c} (${n} before the value)`, `Transfer-Encoding: ${ch(c)}chunked`, 400, 'te_and_cl')
    : refused(`prefix1:${c} (${n} before the value)`, `Transfer-Encoding: ${ch(c)}chunked`, ...valueCtl(c)))),
  ...SPECIAL.map(([c, n]) => (c === 0x09
    ? refused(`suffix1:${c} (${n} after the value)`, `Transfer-Encoding: chunked${ch(c)}`, 400, 'te_and_cl')
    : refused(`suffix1:${c} (${n} after the value)`, `Transfer-Encoding: chunked${ch(c)}`, ...valueCtl(c)))),
  ...SPECIAL.map(([c, n]) => refused(`namesuffix1:${c} (${n} before the colon)`, `Transfer-Encoding${ch(c)}: chunked`, 400,
    c === 0x09 ? 'space_before_colon' : 'invalid_header_name')),
  // HTTP/1-only permutations.
  refused('nospace1 "Transfer-Encoding:chunked"', 'Transfer-Encoding:chunked', 400, 'te_and_cl'),
  refused('linewrapped1 (LF and a space before the value)', 'Transfer-Encoding:\n chunked', 400, 'bare_lf'),
  refused('doublewrapped (two folds before the value)', 'Transfer-Encoding:\r\n \r\n chunked', 400, 'invalid_transfer_encoding'),
  refused('gareth1 (LF and a space before the colon)', 'Transfer-Encoding\n : chunked', 400, 'invalid_header_name'),
  refused('badsetupCR ("Foo: bar" ended by CR alone)', 'Foo: bar\rTransfer-Encoding: chunked', 400, 'bare_cr'),
  refused('badsetupLF ("Foo: bar" ended by LF alone)', 'Foo: bar\nTransfer-Encoding: chunked', 400, 'bare_lf'),
  refused('multiCase "tRANSFER-ENCODING"', 'tRANSFER-ENCODING: chunked', 400, 'te_and_cl'),
  refused('tabwrap (CRLF tab before the value)', 'Transfer-Encoding: \r\n\tchunked', 400, 'invalid_transfer_encoding'),
  refused('UPPERCASE "TRANSFER-ENCODING"', 'TRANSFER-ENCODING: chunked', 400, 'te_and_cl'),
  refused('0dwrap (CR starting the line after "Foo: bar")', 'Foo: bar\r\n\rTransfer-Encoding: chunked', 400, 'bare_cr'),
  refused('0dspam (CR inside the name)', 'Tra\rnsfer-Encoding: chunked', 400, 'invalid_header_name'),
  {
    name: 'badwrap (Transfer-Encoding folded onto the request line, its own line renamed)',
    send: `POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n${H}${CL}\r\nX-Blah-Ignore: chunked\r\n\r\n${BODY}`,
    statuses: [400], code: 'obs_fold', upstream: [],
  },
  refused('bodysplit ("Foo: barn" then LF LF, then Transfer-Encoding)', 'X: y\r\nFoo: barn\n\nTransfer-Encoding: chunked', 400, 'bare_lf'),
  refused('h1case "TRANSFER-ENCODING: chunked"', 'TRANSFER-ENCODING: chunked', 400, 'te_and_cl'),
  { name: 'http1.0 (the probe over HTTP/1.0)', send: probe('Transfer-Encoding: chunked', 'POST / HTTP/1.0'), statuses: [400], code: 'invalid_transfer_encoding', upstream: [] },
];

/** A POST whose Content-Length value is `value` (the real length is 5). */
function withLength(value: string, extra = ''): string {
  return `POST / HTTP/1.1\r\n${H}${extra}Content-Length: ${value}\r\n\r\nhello`;
}
const fwdHello = (kept: string[] = []): string => forwarded('POST / HTTP/1.1', [h, ...kept], 'content-length: 5', 'hello');

const cl: WireCase[] = [
  { name: 'CL-plus "+5"', send: withLength('+5'), statuses: [400], code: 'invalid_content_length', upstream: [] },
  { name: 'CL-minus "-5"', send: withLength('-5'), statuses: [400], code: 'invalid_content_length', upstream: [] },
  { name: 'CL-pad "05" (leading zeros are digits)', send: withLength('05'), statuses: [200], upstream: [fwdHello()] },
  { name: 'CL-bigpad "000000000005"', send: withLength('000000000005'), statuses: [200], upstream: [fwdHello()] },
  { name: 'CL-spacepad "0 5"', send: withLength('0 5'), statuses: [400], code: 'invalid_content_length', upstream: [] },
  { name: 'CL-e "5e0"', send: withLength('5e0'), statuses: [400], code: 'invalid_content_length', upstream: [] },
  { name: 'CL-dec "5.0"', send: withLength('5.0'), statuses: [400], code: 'invalid_content_length', upstream: [] },
  { name: 'CL-commaprefix "0, 5"', send: withLength('0, 5'), statuses: [400], code: 'content_length_mismatch', upstream: [] },
  { name: 'CL-commasuffix "5, 0"', send: withLength('5, 0'), statuses: [400], code: 'content_length_mismatch', upstream: [] },
  {
    name: 'CL-expect (Expect: 100-continue, answered by the proxy and not forwarded)',
    send: [`POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`, { pause: 50 }, 'hello'],
    statuses: [200], upstream: [fwdHello()],
  },
  {
    name: 'CL-expect-obfs (Expect: x 100-continue, an unknown expectation forwarded as is)',
    send: withLength('5', 'Expect: x 100-continue\r\n'),
    statuses: [200], upstream: [fwdHello(['expect: x 100-continue'])],
  },
  { name: 'CL-error (an invalid field line before Content-Length)', send: withLength('5', 'X-Invalid Y: \r\n'), statuses: [400], code: 'space_before_colon', upstream: [] },
];

const SMUGGLED_POST = `GPOST / HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\nx=1`;
const academy: WireCase[] = [
  {
    name: 'CL.TE basic: "0\\r\\n\\r\\nG" after a chunked body the length covers',
    send: `POST / HTTP/1.1\r\n${H}Connection: keep-alive\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
    statuses: [400], code: 'te_and_cl', upstream: [],
  },
  {
    name: 'TE.CL basic: a chunk holding a GPOST that a length reader would start early',
    send: `POST / HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED_POST.length.toString(16)}\r\n${SMUGGLED_POST}\r\n0\r\n\r\n`,
    statuses: [400], code: 'te_and_cl', upstream: [],
  },
  {
    name: 'TE.TE: "Transfer-Encoding: xchunked" after a real one',
    send: `POST / HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n${SMUGGLED_POST.length.toString(16)}\r\n${SMUGGLED_POST}\r\n0\r\n\r\n`,
    statuses: [400], code: 'te_and_cl', upstream: [],
  },
  {
    name: 'TE.TE without Content-Length: "chunked" then "x" in two fields',
    send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n`,
    statuses: [400], code: 'chunked_not_final', upstream: [],
  },
  {
    name: 'TE only: the chunked body ends at "0", the GET after it is a second request of its own',
    send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${BODY}`,
    statuses: [200, 200],
    upstream: [forwarded('POST / HTTP/1.1', [h], 'transfer-encoding: chunked', chunked()), forwarded('GET /smuggled HTTP/1.1', [h])],
  },
  {
    name: 'CL.0: a body on a GET is forwarded with it (the proxy frames by Content-Length whatever the method)',
    send: `GET / HTTP/1.1\r\n${H}Content-Length: ${BODY.length}\r\n\r\n${BODY}`,
    statuses: [200], upstream: [forwarded('GET / HTTP/1.1', [h], FWD_LENGTH, BODY)],
  },
];

const rigs = new Rigs();
afterAll(() => rigs.close());

for (const [group, cases] of [
  ['HTTP Request Smuggler: Transfer-Encoding permutations', te],
  ['HTTP Request Smuggler: Content-Length permutations', cl],
  ['Web Security Academy: CL.TE, TE.CL, TE.TE, CL.0', academy],
] as const) {
  describe(`HTTP/1.1 listener: PortSwigger ${group}`, () => {
    for (const c of cases) it(c.name, () => runWireCase(rigs, c));
  });
}
