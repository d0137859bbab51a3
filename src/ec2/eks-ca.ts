/**
 * A cluster's own certificate authority, for DescribeCluster's certificateAuthority.data when `ec2 serve` is not given
 * one (`--eks-certificate-authority`): a self-signed CA named `CN=kubernetes`, as EKS's cluster CAs are. Nothing signs
 * a serving certificate with it: outside a lab nothing serves the cluster endpoint.
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// the library types its provider with the DOM's Crypto, which this project's node-only lib does not declare
x509.cryptoProvider.set(webcrypto as never);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const tenYearsMs = 10 * 365 * 24 * 3600 * 1000;

/** A new self-signed CA certificate, PEM (its key is not kept: nothing is signed with it). */
export async function newClusterCaPem(nowMs = Date.now()): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = webcrypto.getRandomValues(new Uint8Array(16));
  serial[0] = serial[0]! & 0x7f; // positive
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(serial).toString('hex'),
    name: 'CN=kubernetes',
    notBefore: new Date(nowMs - 3600 * 1000),
    notAfter: new Date(nowMs + tenYearsMs),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return cert.toString('pem') + '\n';
}
