// The mesh's certificate authority: signs X.509 SVIDs — the workload's SPIFFE ID as the only
// (URI) SAN, digitalSignature + keyEncipherment, serverAuth + clientAuth, not a CA — from checked
// CSRs, with the key material of openCaFiles (a generated root or Istio's plug-in files). It also
// issues the control plane's own serving certificate from the same chain.
import { isIP } from 'node:net';
import { openCaFiles, randomSerial, type CaMaterial } from './ca-files.js';
import { checkCsr } from './csr-check.js';
import { IdentityError } from './identity-error.js';
import { formatSpiffeId, type SpiffeId } from './spiffe-id.js';
import { generateKeyPair, privateKeyPem, x509, type KeyAlgorithm } from './x509.js';

/** Istio's defaults: workload certificates live 24 h (DEFAULT_WORKLOAD_CERT_TTL), at most 90 days (MAX_WORKLOAD_CERT_TTL). */
export const DEFAULT_CERT_TTL_MS = 24 * 3_600_000;
export const DEFAULT_MAX_CERT_TTL_MS = 90 * 24 * 3_600_000;

export interface CertificateAuthorityOptions {
  /** Where the CA files are (Istio's layout; see ca-files.ts). */
  readonly dir: string;
  readonly trustDomain: string;
  /** Key type of a generated root; ECDSA P-256 by default. */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Lifetime of a certificate whose request names none. */
  readonly certTtlMs?: number;
  /** Longest lifetime a request may ask for. */
  readonly maxCertTtlMs?: number;
  readonly now?: () => Date;
}

/** What the CA hands back: the chain leaf first, then intermediates (no root), and the trust bundle. */
export interface IssuedCertificate {
  readonly leaf: x509.X509Certificate;
  /** PEM of the leaf, then of each intermediate. */
  readonly chainPem: readonly string[];
  /** PEM of each root in the trust bundle. */
  readonly rootsPem: readonly string[];
}

/** A key and certificate the control plane serves with (TLS on 15012). */
export interface ServingCertificate {
  readonly keyPem: string;
  /** Leaf then intermediates, one PEM text. */
  readonly certChainPem: string;
  readonly notAfter: Date;
}

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly certTtlMs: number;
  readonly maxCertTtlMs: number;
  readonly #material: CaMaterial;
  readonly #now: () => Date;

  private constructor(material: CaMaterial, opts: CertificateAuthorityOptions) {
    this.#material = material;
    this.trustDomain = opts.trustDomain;
    this.certTtlMs = opts.certTtlMs ?? DEFAULT_CERT_TTL_MS;
    this.maxCertTtlMs = Math.max(opts.maxCertTtlMs ?? DEFAULT_MAX_CERT_TTL_MS, this.certTtlMs);
    this.#now = opts.now ?? (() => new Date());
  }

  /** Opens (or, in an empty directory, creates) the CA; throws IdentityError (ca_files_invalid). */
  static async open(opts: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    if (opts.certTtlMs !== undefined && !(opts.certTtlMs >= 1000)) throw new RangeError(`certificate TTL ${opts.certTtlMs} ms: at least 1 s`);
    const material = await openCaFiles({ dir: opts.dir, keyAlgorithm: opts.keyAlgorithm ?? 'ecdsa-p256', trustDomain: opts.trustDomain, now: opts.now });
    return new CertificateAuthority(material, opts);
  }

  /** True when this start generated a new root. */
  get generatedRoot(): boolean {
    return this.#material.generated;
  }

  /**
   * When the CA's certificates run out: the earliest root of the bundle, and the certificate chain
   * it signs with (the earliest of the signing certificate and its intermediates), as istiod's
   * citadel_server_root_cert_expiry_timestamp and citadel_server_cert_chain_expiry_timestamp.
   */
  get expiry(): { readonly root: Date; readonly certChain: Date } {
    const earliest = (certs: readonly x509.X509Certificate[]): Date => new Date(Math.min(...certs.map((c) => c.notAfter.getTime())));
    return { root: earliest(this.#material.roots), certChain: earliest([this.#material.signingCert, ...this.#material.intermediates]) };
  }

  /** The trust bundle: every root, PEM. */
  get rootsPem(): readonly string[] {
    return this.#material.roots.map((r) => r.toString('pem') + '\n');
  }

  /**
   * Signs `csrPem` for `caller` (the identity its token proved) for `ttlMs` (the default when 0 or
   * absent). Throws IdentityError: csr_invalid, csr_identity_refused, ttl_refused.
   */
  async sign(csrPem: string, caller: SpiffeId, ttlMs = 0): Promise<IssuedCertificate> {
    if (caller.trustDomain !== this.trustDomain) {
      throw new IdentityError('csr_identity_refused', `CSR refused: ${formatSpiffeId(caller)} is not in this CA's trust domain ${this.trustDomain}`);
    }
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new IdentityError('ttl_refused', `requested lifetime ${ttlMs} ms is not a positive duration`);
    if (ttlMs > this.maxCertTtlMs) {
      throw new IdentityError('ttl_refused', `requested lifetime ${ttlMs / 1000} s exceeds the CA's maximum of ${this.maxCertTtlMs / 1000} s`);
    }
    const { csr, identity } = await checkCsr(csrPem, caller);
    const leaf = await this.#issue(csr.publicKey, ttlMs || this.certTtlMs, [{ type: 'url', value: formatSpiffeId(identity) }]);
    return this.#bundle(leaf);
  }

  /**
   * A serving certificate for the control plane: `dnsNames` and IP addresses as SANs (Istio's
   * istiod.istio-system.svc among them), plus the control plane's own SPIFFE ID.
   */
  async issueServing(names: readonly string[], identity: SpiffeId, keyAlgorithm: KeyAlgorithm = 'ecdsa-p256', ttlMs = this.certTtlMs): Promise<ServingCertificate> {
    const keys = await generateKeyPair(keyAlgorithm);
    const sans: x509.JsonGeneralName[] = [
      ...[...new Set(names)].map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n }) as x509.JsonGeneralName),
      { type: 'url', value: formatSpiffeId(identity) },
    ];
    const leaf = await this.#issue(keys.publicKey, ttlMs, sans);
    const bundle = this.#bundle(leaf);
    return { keyPem: privateKeyPem(keys.privateKey), certChainPem: bundle.chainPem.join(''), notAfter: leaf.notAfter };
  }

  async #issue(publicKey: x509.PublicKey | CryptoKey, ttlMs: number, sans: x509.JsonGeneralName[]): Promise<x509.X509Certificate> {
    const m = this.#material;
    // Whole seconds: X.509 times carry no fraction, and a half-life computed from them must agree.
    const notBefore = new Date(Math.floor(this.#now().getTime() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + ttlMs);
    // The AKI repeats the issuer's SKI as written (a plug-in CA may compute it otherwise than we would).
    const ski = m.signingCert.getExtension(x509.SubjectKeyIdentifierExtension);
    const aki = ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(m.signingCert);
    return x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      // Istio's workload certificates have an empty subject; the identity is the critical SAN.
      subject: '',
      issuer: m.signingCert.subjectName,
      notBefore,
      notAfter,
      publicKey,
      signingKey: m.signingKey,
      signingAlgorithm: m.signingAlgorithm,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.BasicConstraintsExtension(false, undefined, true),
        aki,
        new x509.SubjectAlternativeNameExtension(sans, true),
      ],
    });
  }

  #bundle(leaf: x509.X509Certificate): IssuedCertificate {
    const m = this.#material;
    const self = m.signingCert.subject === m.signingCert.issuer && m.roots.some((r) => Buffer.from(r.rawData).equals(Buffer.from(m.signingCert.rawData)));
    const chain = [leaf, ...(self ? [] : [m.signingCert]), ...m.intermediates];
    return { leaf, chainPem: chain.map((c) => c.toString('pem') + '\n'), rootsPem: this.rootsPem };
  }
}
