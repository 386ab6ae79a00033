import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Station tokens are MQTT passwords: 32 random bytes, shown once. They are stored as a keyed hash (token-key.ts);
 * this file keeps the scrypt form `scrypt$N$r$p$salt$hash` (salt and hash base64url, parameters in the hash so they
 * can be raised later), which people's passwords use (users.ts: chosen by people, so guessable, so a slow hash), and
 * which station tokens and integration passwords issued before the keyed hash still carry until their next good login.
 */
const SCHEME = 'scrypt';
const DEFAULT_PARAMS = { N: 16_384, r: 8, p: 1 } as const; // OWASP minimum for scrypt
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on parameters read back from storage: a tampered row must not make us burn gigabytes.
const MAX_MEMORY_BYTES = 64 * 1024 * 1024;
const MAX_P = 16;

/**
 * Stored in place of a hash when a station's token is revoked: it parses as no hash, so no token can
 * match it, and the authenticator recognises it without running scrypt. A new token re-enables the station.
 */
export const REVOKED_TOKEN_HASH = 'revoked';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function hashToken(token: string | Uint8Array): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { N, r, p } = DEFAULT_PARAMS;
  const key = await deriveKey(token, salt, KEY_BYTES, { N, r, p });
  return [SCHEME, N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time check of `token` against a stored hash; a malformed or unknown format is simply `false`. */
export async function verifyToken(token: string | Uint8Array, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await deriveKey(token, parsed.salt, parsed.hash.length, parsed.params);
  return timingSafeEqual(key, parsed.hash);
}

/** A fast digest of a token, for caches that must not keep the token itself. */
export function sha256(token: string | Uint8Array): Buffer {
  return createHash('sha256').update(token).digest();
}

interface ParsedHash {
  params: { N: number; r: number; p: number };
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return null;
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  const N = toInt(nText);
  const r = toInt(rText);
  const p = toInt(pText);
  if (N === null || r === null || p === null) return null;
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || scryptMemory(N, r) > MAX_MEMORY_BYTES || p > MAX_P) return null;
  const salt = fromBase64url(saltText);
  const hash = fromBase64url(hashText);
  if (!salt || !hash || salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { params: { N, r, p }, salt, hash };
}

/** scrypt needs 128·N·r bytes (RFC 7914 §6). */
function scryptMemory(N: number, r: number): number {
  return 128 * N * r;
}

function toInt(text: string): number | null {
  return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : null;
}

function fromBase64url(text: string): Buffer | null {
  // Buffer.from silently skips bad characters; insist on the canonical alphabet instead.
  return /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url') : null;
}

function deriveKey(token: string | Uint8Array, salt: Buffer, keyLength: number, params: ScryptOptions): Promise<Buffer> {
  // The default maxmem (32 MiB) is below the bound accepted above; allow what the parameters need.
  const maxmem = scryptMemory(params.N ?? DEFAULT_PARAMS.N, params.r ?? DEFAULT_PARAMS.r) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(token, salt, keyLength, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
