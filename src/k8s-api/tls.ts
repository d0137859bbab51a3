/**
 * The server's own certificate authority and serving certificate: made once per server (per lab) and kept in its
 * database, so a restart serves the same certificate and kubeconfigs written before it keep working.
 */
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

// the library types its provider with the DOM's Crypto, which this project's node-only lib does not declare
x509.cryptoProvider.set(webcrypto as never);

export interface ServingMaterial {
  caPem: string;
  /** The CA's key, kept so a serving certificate for new names is signed by the same CA (kubeconfigs stay valid). */
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const tenYearsMs = 10 * 365 * 24 * 3600 * 1000;

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  // a positive serial: the first byte's high bit clear
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/**
 * A serving certificate for names — the DNS names and addresses clients reach the server by (the listen address,
 * 127.0.0.1, localhost, kubernetes.default.svc …) — signed by the CA of `keep` when given, else by a new CA
 * (`CN=podnet-kubernetes-ca`).
 */
export async function createServingMaterial(names: readonly string[], keep?: Pick<ServingMaterial, 'caPem' | 'caKeyPem'>): Promise<ServingMaterial> {
  const now = Date.now();
  const notBefore = new Date(now - 3600 * 1000); // clocks of the lab's namespaces are the host's, but be lenient
  const notAfter = new Date(now + tenYearsMs);
  const { ca, caKey } = keep
    ? { ca: new x509.X509Certificate(keep.caPem), caKey: await webcrypto.subtle.importKey('pkcs8', pemBody(keep.caKeyPem), algorithm, true, ['sign']) }
    : await createCa(notBefore, notAfter);
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const unique = [...new Set(names)];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      new x509.SubjectAlternativeNameExtension(unique.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
    ],
  });
  return {
    caPem: keep?.caPem ?? ca.toString('pem') + '\n',
    caKeyPem: keep?.caKeyPem ?? pemKey(await webcrypto.subtle.exportKey('pkcs8', caKey)),
    certPem: cert.toString('pem') + '\n',
    keyPem: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

async function createCa(notBefore: Date, notAfter: Date): Promise<{ ca: x509.X509Certificate; caKey: webcrypto.CryptoKey }> {
  const caKeys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=podnet-kubernetes-ca',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return { ca, caKey: caKeys.privateKey };
}

/** The names a serving certificate has (DNS names and IP addresses), to tell whether it still covers a listen address. */
export function servingNames(certPem: string): string[] {
  const cert = new x509.X509Certificate(certPem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.items.map((n) => n.value) : [];
}
