// The key types the CA issues for and signs with, apart from the X.509 library so that a command
// parsing flags does not load it: ECDSA P-256 (default, smaller and faster) or RSA 2048.

export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'rsa-2048'];
