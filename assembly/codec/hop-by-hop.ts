// Which fields are hop-by-hop (RFC 9110 §7.6.1): they describe one connection and a proxy
// must not forward them. Shared by the request head writer and the response head filter.
import { charClass, equalsFold, equalsLower, foldByte, C_OWS } from './char-class';
import { CharCode } from './char-class';

/** The fixed hop-by-hop names, plus "te" unless its value is exactly "trailers". */
export function isHopByHop(name: usize, nameLen: usize, value: usize, valueLen: usize): bool {
  const f = foldByte(<u32>load<u8>(name));
  switch (<i32>nameLen) {
    case 2: // te: "trailers" is end-to-end in effect (gRPC needs it), anything else is not.
      return f == 0x74 && equalsLower(name, 2, 'te') && !(valueLen == 8 && equalsLower(value, 8, 'trailers'));
    case 7:
      return f == 0x75 && equalsLower(name, 7, 'upgrade');
    case 10:
      return (f == 0x63 && equalsLower(name, 10, 'connection')) || (f == 0x6b && equalsLower(name, 10, 'keep-alive'));
    case 16:
      return f == 0x70 && equalsLower(name, 16, 'proxy-connection');
    case 17:
      return f == 0x74 && equalsLower(name, 17, 'transfer-encoding');
    default:
      return false;
  }
}

/** Whether `name` is listed as a token of the Connection value at (v, vLen). */
export function namedInConnection(name: usize, nameLen: usize, v: usize, vLen: usize): bool {
  let i: usize = 0;
  while (i < vLen) {
    while (i < vLen && (load<u8>(v + i) == CharCode.COMMA || charClass(load<u8>(v + i)) & C_OWS)) i++;
    const start = i;
    while (i < vLen && load<u8>(v + i) != CharCode.COMMA) i++;
    let end = i;
    while (end > start && charClass(load<u8>(v + end - 1)) & C_OWS) end--;
    if (end > start && equalsFold(name, nameLen, v + start, end - start)) return true;
  }
  return false;
}

/** Whether the field name is "connection" (any case). */
// @ts-ignore: decorator
@inline export function isConnection(name: usize, nameLen: usize): bool {
  return nameLen == 10 && equalsLower(name, 10, 'connection');
}
