// Reading the certificate files a TLS setting names: each read once when its transport is built,
// with the setting and the path in the error when a file is missing or holds no PEM block.
import { readFileSync } from 'node:fs';

/** The file's bytes; throws `wasmesh: <what> <path>: <reason> (TLS_FILE)` when unusable. */
export function readPem(path: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`wasmesh: ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (TLS_FILE)`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new Error(`wasmesh: ${what} ${path}: no PEM block in the file (TLS_FILE)`);
  return bytes;
}
