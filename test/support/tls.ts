import forge from 'node-forge';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createServer, get, globalAgent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';

/** A certificate authority made for one test run, and a server certificate it issued. */
export interface TestCa {
  /** The CA certificate (PEM) clients trust. */
  ca: string;
  /** A certificate for 127.0.0.1 and localhost, and its key. */
  server: { cert: string; key: string };
}

function keyPair(): { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    forgeKey: forge.pki.privateKeyFromPem(pem),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    pem,
  };
}

function certificate(
  subject: string,
  publicKey: forge.pki.rsa.PublicKey,
  issuer: { name: string; key: forge.pki.rsa.PrivateKey },
  extensions: object[],
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer.name }]);
  cert.setExtensions(extensions);
  cert.sign(issuer.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** Makes a fresh CA and a certificate for the loopback host, both valid for a day. */
export function createTestCa(): TestCa {
  const ca = keyPair();
  const caName = `Herald test CA ${randomBytes(4).toString('hex')}`;
  const caCert = certificate(caName, ca.publicKey, { name: caName, key: ca.forgeKey }, [
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  const server = keyPair();
  const serverCert = certificate('127.0.0.1', server.publicKey, { name: caName, key: ca.forgeKey }, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  return { ca: caCert, server: { cert: serverCert, key: server.pem } };
}

/**
 * Makes this process's https.globalAgent trust the test CA (beside the usual roots), so libraries that
 * fetch with `https.get` (sns-validator fetching a certificate) accept the test's TLS endpoint.
 * Nothing else about verification changes.
 */
export function trustTestCa(ca: TestCa): void {
  globalAgent.options.ca = [...rootCertificates, ca.ca];
}

/** A TLS endpoint on 127.0.0.1 in front of an HTTP server: Herald's https PUBLIC_BASE_URL in tests. */
export class TlsProxy {
  /** Where requests go: `http://127.0.0.1:<port>`, set once the backend listens. */
  target = '';
  private readonly server: Server;

  constructor(ca: TestCa) {
    this.server = createServer({ cert: ca.server.cert, key: ca.server.key }, (req, res) => {
      const upstream = httpRequest(
        `${this.target}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A GET over https with the global agent (so through the trusted test CA): status and body. */
export function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    }).on('error', reject);
  });
}
