import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../contracts/index.js';
import type { TlsCredentials } from '../gateway/tls.js';

interface TlsServerEnv {
  TLS_CERT_FILE?: string | undefined;
  TLS_KEY_FILE?: string | undefined;
}

/**
 * The listeners' certificate and key, checked at start so a wrong path or a mismatched pair is a one-line
 * error naming the variable rather than a failure at the first client. null when neither is set.
 */
export async function loadTlsCredentials(env: TlsServerEnv): Promise<TlsCredentials | null> {
  const certPath = env.TLS_CERT_FILE;
  const keyPath = env.TLS_KEY_FILE;
  if (certPath === undefined && keyPath === undefined) return null;
  if (certPath === undefined) throw new ConfigError('TLS_CERT_FILE: required when TLS_KEY_FILE is set (set both for TLS, or neither)');
  if (keyPath === undefined) throw new ConfigError('TLS_KEY_FILE: required when TLS_CERT_FILE is set (set both for TLS, or neither)');
  const cert = await readPem('TLS_CERT_FILE', certPath);
  const key = await readPem('TLS_KEY_FILE', keyPath);
  const x509 = parse('TLS_CERT_FILE', certPath, 'not a PEM certificate', () => new X509Certificate(cert));
  const privateKey = parse('TLS_KEY_FILE', keyPath, 'not a PEM private key', (): KeyObject => createPrivateKey(key));
  if (!x509.checkPrivateKey(privateKey))
    throw new ConfigError(`TLS_KEY_FILE: ${keyPath} is not the key of the certificate in TLS_CERT_FILE`);
  return { cert, key };
}

/**
 * The CAs this process's clients trust: the system's plus TLS_CA_FILE (a private or self-signed CA), so
 * verification stays on. undefined when TLS_CA_FILE is unset (Node's defaults apply).
 */
export async function loadTrustedCas(env: { TLS_CA_FILE?: string | undefined }): Promise<string[] | undefined> {
  if (env.TLS_CA_FILE === undefined) return undefined;
  const path = env.TLS_CA_FILE;
  const ca = await readPem('TLS_CA_FILE', path);
  parse('TLS_CA_FILE', path, 'not a PEM certificate', () => new X509Certificate(ca));
  return [...rootCertificates, ca.toString('utf8')];
}

async function readPem(name: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${name}: cannot read ${path} (${code})`);
  }
}

function parse<T>(name: string, path: string, what: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw new ConfigError(`${name}: ${path} is ${what}`);
  }
}
