// Authorization exports: the host loads a table (authz_table_check once), writes the request
// view and the attributes the table reads, and asks authz_evaluate per request (or
// authz_evaluate_connection once per TCP connection).
import { checkTable } from './table';
import { evaluate, ForRequest, ForConnection } from './evaluate';
import { AT_SIZE, AT_MAX_ENTRIES, AT_BYTES_OFF, AT_BYTES } from './attributes';
import { RS_SIZE } from './evaluate';

/**
 * Validates the authorization table of `len` bytes at `table` (once, after copying it in).
 * Returns 0 (Ok) or a negative AuthzStatus; no other call may be given a table it refused.
 */
export function authz_table_check(table: usize, len: u32): i32 {
  return checkTable(table, len);
}

/**
 * Evaluates the checked table at `table` for the request view at `req` and the attribute
 * region at `attrs`; writes the result region at `res` (RS_SIZE bytes) and returns its bits
 * (assembly/authz/evaluate.ts).
 */
export function authz_evaluate(table: usize, req: usize, attrs: usize, res: usize): u32 {
  return evaluate<ForRequest>(table, req, attrs, res);
}

/**
 * Evaluates the checked table at `table` for a TCP connection (Envoy's RBAC network filter):
 * the attribute region at `attrs` only, no request; HTTP-only fields as Istio builds them for
 * TCP (assembly/authz/evaluate.ts). Writes the result region at `res`, returns its bits.
 */
export function authz_evaluate_connection(table: usize, attrs: usize, res: usize): u32 {
  return evaluate<ForConnection>(table, 0, attrs, res);
}

/** Layout constants of the attribute and result regions, checked by the host at load. */
export function authz_layout(which: i32): u32 {
  switch (which) {
    case 0: return AT_SIZE;
    case 1: return AT_MAX_ENTRIES;
    case 2: return AT_BYTES_OFF;
    case 3: return AT_BYTES;
    case 4: return RS_SIZE;
    default: return 0;
  }
}
