import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Db, isSqlite } from '../registry/db.js';
import { PgDb } from '../registry/pg/pg-db.js';

/**
 * Machine-made tokens (station tokens, integration passwords: 256 random bits) are stored as a keyed hash,
 * `hmac-sha256$<keyId>$<mac>` (mac: HMAC-SHA-256 of the token under the server's key, base64url). A slow hash
 * such as scrypt exists to make guessing a *low-entropy* secret expensive; nobody can enumerate 2^256 tokens
 * at any cost per guess, so scrypt only slowed our own logins (10,000 stations after a restart: 419 s). The key
 * adds what a plain SHA-256 would lack: a stolen registry alone lets nobody check a guess offline.
 *
 * The key id names the key a hash was made with (a digest of the key, not the key), so a key can be replaced one
 * day while the old one still verifies, and a hash made under another key (a registry restored beside the wrong key
 * file) is refused as such rather than compared. See docs/security.md ("Station tokens and the token key").
 */
export const TOKEN_KEY_FILE = 'token-hmac-key';
export const KEYED_SCHEME = 'hmac-sha256';
const KEY_BYTES = 32;
const MAC_BYTES = 32;

export class TokenKey {
  /** 8 base64url characters; public (it is in every stored hash). */
  readonly id: string;
  // A private field: the secret never shows in JSON, util.inspect or a logged object.
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length !== KEY_BYTES) throw new Error(`a token key is ${KEY_BYTES} bytes, got ${secret.length}`);
    this.#secret = Buffer.from(secret);
    this.id = createHash('sha256').update('frostwatch token key id\n').update(secret).digest().subarray(0, 6).toString('base64url');
  }

  /** The stored form of a machine-made token; deterministic, so equal tokens give equal hashes (they are unique anyway). */
  hash(token: string | Uint8Array): string {
    return `${KEYED_SCHEME}$${this.id}$${this.#mac(token).toString('base64url')}`;
  }

  /**
   * Constant-time in the token: one HMAC and a `timingSafeEqual` of two 32-byte MACs. False for a hash made under
   * another key, a scrypt hash (the caller's slow path), `revoked`, and anything not in the exact canonical form.
   */
  matches(token: string | Uint8Array, stored: string): boolean {
    const expected = this.#storedMac(stored);
    if (expected === null) return false;
    return timingSafeEqual(this.#mac(token), expected);
  }

  /** Whether `stored` is a keyed hash at all (of this key or another). */
  static isKeyedHash(stored: string): boolean {
    return stored.startsWith(`${KEYED_SCHEME}$`);
  }

  #mac(token: string | Uint8Array): Buffer {
    return createHmac('sha256', this.#secret).update(token).digest();
  }

  #storedMac(stored: string): Buffer | null {
    const parts = stored.split('$');
    if (parts.length !== 3 || parts[0] !== KEYED_SCHEME || parts[1] !== this.id) return null;
    const text = parts[2] ?? '';
    // 32 bytes are 43 base64url characters; insisting on the canonical text refuses padded or altered copies.
    if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null;
    const mac = Buffer.from(text, 'base64url');
    return mac.length === MAC_BYTES && mac.toString('base64url') === text ? mac : null;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }
}

/**
 * How many of `storedHashes` are keyed hashes made under another key than `key`: a registry restored without its key
 * file, or beside another one. Those stations cannot log in until the right key file is back or their tokens are
 * rotated; the server says so once at start (server/assemble.ts).
 */
export function hashesUnderAnotherKey(storedHashes: Iterable<string>, key: TokenKey): number {
  let n = 0;
  for (const stored of storedHashes) if (TokenKey.isKeyedHash(stored) && stored.split('$')[1] !== key.id) n += 1;
  return n;
}

const keys = new WeakMap<Db, TokenKey>();

/**
 * The token key of a registry: the file `token-hmac-key` beside the SQLite file (so DATA_DIR/token-hmac-key), created
 * on first use; an in-memory registry gets a random key of its own, which lives and dies with it. Read once per Db.
 * On PostgreSQL it is the file in the PgDb's `keyDir` (DATA_DIR): every machine of a cluster holds a copy of the
 * same file, as it holds the TLS key (docs/scale-out.md), so a stolen database alone still verifies nothing.
 */
export function tokenKeyOf(db: Db): TokenKey {
  let key = keys.get(db);
  if (!key) {
    key = keyFor(db);
    keys.set(db, key);
  }
  return key;
}

function keyFor(db: Db): TokenKey {
  if (isSqlite(db)) return db.memory ? new TokenKey(randomBytes(KEY_BYTES)) : loadTokenKey(join(dirname(db.name), TOKEN_KEY_FILE));
  if (db instanceof PgDb) {
    if (db.keyDir === null) throw new Error('a PostgreSQL registry needs keyDir (DATA_DIR) for its token key');
    return loadTokenKey(join(db.keyDir, TOKEN_KEY_FILE));
  }
  throw new Error('a registry of unknown kind has no token key');
}

/** The key in `file`, created (32 random bytes, mode 0600) when there is none. A file of another length is refused. */
export function loadTokenKey(file: string): TokenKey {
  return new TokenKey(readKeyFile(file) ?? createTokenKeyFile(file, randomBytes(KEY_BYTES)));
}

/**
 * Puts `secret` in `file` unless a key is already there, and returns the key the file holds afterwards: `secret`
 * if this call created it, else the key another process (the CLI and the server can start together) wrote first.
 * Written to a private temporary file and linked into place: `link` fails with EEXIST instead of replacing, and the
 * file appears whole, so a racing reader never sees a half-written key (opening `file` itself with 'wx' would let it
 * read an empty one), and a crash leaves at most a stray `.tmp`, never a short key.
 */
export function createTokenKeyFile(file: string, secret: Buffer): Buffer {
  const partial = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(partial, 'wx', 0o600);
  try {
    writeSync(fd, secret);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(partial, file);
    // The key must survive a power cut once hashes made with it can be committed: make the new name durable too.
    syncDirectory(dirname(file));
    return secret;
  } catch (error) {
    if (!isNodeError(error) || error.code !== 'EEXIST') throw error;
    const existing = readKeyFile(file);
    if (existing === null) throw new Error(`${file}: vanished while being created`, { cause: error });
    return existing;
  } finally {
    unlinkSync(partial);
  }
}

function readKeyFile(file: string): Buffer | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if (isNodeError(error) && error.code === 'ENOENT') return null;
    throw error;
  }
  if (bytes.length !== KEY_BYTES)
    throw new Error(
      `${file}: the token key must be exactly ${KEY_BYTES} bytes, this file has ${bytes.length}; restore it from the backup of DATA_DIR (docs/security.md, "Losing the token key")`,
    );
  return bytes;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
