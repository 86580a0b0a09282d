import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A new signing key: its id (in the certificate's URL), private key and self-signed certificate (PEM). */
export interface NewSigningKey {
  id: string;
  privateKeyPem: string;
  certificatePem: string;
}

/** Receivers fetch a certificate by URL and cache it; it outlives the key's use for signing. */
const VALIDITY_YEARS = 20;

/**
 * Makes an RSA-2048 key and an X.509 certificate for it, self-signed with SHA-256. Node's crypto makes
 * the key; node-forge writes the certificate, which Node 20 cannot.
 */
export function createSigningKey(now = new Date()): NewSigningKey {
  const id = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial: the first byte below 0x80.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now);
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + VALIDITY_YEARS);
  const name = [
    { name: 'commonName', value: `Herald SNS signing key ${id}` },
    { name: 'organizationName', value: 'Herald' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { id, privateKeyPem, certificatePem: forge.pki.certificateToPem(cert) };
}
