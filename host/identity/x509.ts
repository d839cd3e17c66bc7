// The one door to @peculiar/x509: its tsyringe needs the Reflect polyfill loaded first, and it is
// told once to use Node's WebCrypto. Everything in host/identity that reads or writes certificates
// and CSRs imports the library from here, so that no ASN.1 is ever written by hand.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import type { KeyAlgorithm } from './key-algorithm.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export type { KeyAlgorithm } from './key-algorithm.js';

/** WebCrypto's parameters for generating, importing and signing with a key of this type. */
export function webCryptoAlgorithm(alg: KeyAlgorithm): RsaHashedKeyGenParams & EcKeyGenParams & EcdsaParams {
  return alg === 'ecdsa-p256'
    ? ({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as RsaHashedKeyGenParams & EcKeyGenParams & EcdsaParams)
    : ({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams & EcKeyGenParams & EcdsaParams);
}

/** A fresh extractable key pair. */
export async function generateKeyPair(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(webCryptoAlgorithm(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/**
 * WebCrypto's parameters for a key Node has read (any PEM: PKCS#8, SEC1 or PKCS#1, as Istio's
 * plug-in ca-key.pem may be): ECDSA P-256 or RSA of any size, both with SHA-256.
 */
export function signingAlgorithmOf(key: KeyObject): RsaHashedImportParams & EcKeyImportParams & EcdsaParams {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as RsaHashedImportParams & EcKeyImportParams & EcdsaParams;
  }
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams & EcKeyImportParams & EcdsaParams;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(`unsupported key type ${key.asymmetricKeyType}${curve ? ` (curve ${curve})` : ''}: ECDSA P-256 or RSA only`);
}

/** A private key PEM as a WebCrypto signing key, with the algorithm to sign with. */
export async function importPrivateKey(pem: string): Promise<{ key: CryptoKey; algorithm: EcdsaParams | RsaHashedImportParams }> {
  const node = createPrivateKey(pem);
  const algorithm = signingAlgorithmOf(node);
  const der = node.export({ format: 'der', type: 'pkcs8' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
  return { key: key as CryptoKey, algorithm };
}

/** A WebCrypto private key as PKCS#8 PEM. */
export function privateKeyPem(key: CryptoKey): string {
  return KeyObject.from(key).export({ format: 'pem', type: 'pkcs8' }) as string;
}
