import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../server/auth/station-tokens.js';
import { TokenKey, hashesUnderAnotherKey } from '../../server/auth/token-key.js';

const B64URL = '[A-Za-z0-9_-]';
const key = new TokenKey(randomBytes(32));

describe('keyed token hashes (hmac-sha256$keyId$mac)', () => {
  it('hashes to hmac-sha256$<8-character key id>$<43-character mac>, never containing the token', () => {
    const token = generateToken();
    const stored = key.hash(token);
    expect(stored).toMatch(new RegExp(`^hmac-sha256\\$${B64URL}{8}\\$${B64URL}{43}$`));
    expect(stored.split('$')[1]).toBe(key.id);
    expect(stored).not.toContain(token);
    expect(key.hash(token)).toBe(stored); // deterministic: the token's 256 random bits are its salt
    expect(key.hash(generateToken())).not.toBe(stored);
  });

  it('verifies the right token, as a string or as the bytes MQTT delivers', () => {
    const token = generateToken();
    const stored = key.hash(token);
    expect(key.matches(token, stored)).toBe(true);
    expect(key.matches(Buffer.from(token, 'utf8'), stored)).toBe(true);
  });

  it('refuses a wrong token, a prefix of it, one more character, and an empty one', () => {
    const token = generateToken();
    const stored = key.hash(token);
    expect(key.matches(generateToken(), stored)).toBe(false);
    expect(key.matches(token.slice(0, -1), stored)).toBe(false);
    expect(key.matches(`${token}A`, stored)).toBe(false);
    expect(key.matches('', stored)).toBe(false);
  });

  it('refuses a hash made under another key, even when its key id is changed to ours', () => {
    const token = generateToken();
    const other = new TokenKey(randomBytes(32));
    expect(other.id).not.toBe(key.id);
    const foreign = other.hash(token);
    expect(key.matches(token, foreign)).toBe(false);
    expect(key.matches(token, foreign.replace(`$${other.id}$`, `$${key.id}$`))).toBe(false);
  });

  it('gives the same key id and hashes to the same secret (a key read back from its file)', () => {
    const secret = randomBytes(32);
    const token = generateToken();
    const a = new TokenKey(secret);
    const b = new TokenKey(Buffer.from(secret));
    expect(b.id).toBe(a.id);
    expect(b.matches(token, a.hash(token))).toBe(true);
  });

  it('refuses when the stored mac was tampered with: one flipped character, another token, a non-canonical last character', () => {
    const token = generateToken();
    const stored = key.hash(token);
    const mac = stored.split('$')[2] ?? '';
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    for (const at of [0, 21, 42]) expect(key.matches(token, `hmac-sha256$${key.id}$${flip(mac, at)}`), `flip at ${at}`).toBe(false);
    expect(key.matches(token, key.hash(generateToken()))).toBe(false);
    // 43 base64url characters carry 258 bits: the last one has two spare bits, which must be zero.
    const last = mac.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
    expect(Buffer.from(mac.slice(0, -1) + sibling, 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true);
    expect(key.matches(token, `hmac-sha256$${key.id}$${mac.slice(0, -1)}${sibling}`)).toBe(false);
  });

  it('accepts only the canonical form of a correct hash', () => {
    const token = generateToken();
    const stored = key.hash(token);
    const variants = [
      stored.replace('hmac-sha256', 'HMAC-SHA256'),
      stored.replace('hmac-sha256', 'hmac-sha512'),
      `${stored}=`,
      `${stored}\n`,
      ` ${stored}`,
      `${stored}$`,
      stored.replace(`$${key.id}$`, `$${key.id.toLowerCase() === key.id ? key.id.toUpperCase() : key.id.toLowerCase()}$`),
      stored.replace(/\$([^$]+)$/, '$$$1A'),
      stored.replace(/\$([^$]+)$/, (_m, mac: string) => `$${Buffer.from(mac, 'base64url').toString('base64')}`),
    ].filter((variant) => variant !== stored);
    expect(variants.length).toBeGreaterThanOrEqual(8);
    for (const variant of variants) expect(key.matches(token, variant), JSON.stringify(variant)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['revoked', 'revoked'],
    ['plain text', 'not-a-hash'],
    ['too few parts', `hmac-sha256$${'A'.repeat(43)}`],
    ['empty mac', `hmac-sha256$${key.id}$`],
    ['short mac', `hmac-sha256$${key.id}$${'A'.repeat(42)}`],
    ['long mac', `hmac-sha256$${key.id}$${'A'.repeat(44)}`],
    ['mac not base64url', `hmac-sha256$${key.id}$${'+'.repeat(43)}`],
  ])('treats a malformed stored value (%s) as a refusal', (_name, stored) => {
    expect(key.matches(generateToken(), stored)).toBe(false);
  });

  it('treats a legacy scrypt hash as no match (the authenticator verifies those with scrypt), and tells the schemes apart', async () => {
    const token = generateToken();
    const legacy = await hashToken(token);
    expect(key.matches(token, legacy)).toBe(false);
    expect(TokenKey.isKeyedHash(legacy)).toBe(false);
    expect(TokenKey.isKeyedHash(key.hash(token))).toBe(true);
    expect(TokenKey.isKeyedHash('revoked')).toBe(false);
  });

  it('refuses a key of the wrong length', () => {
    for (const length of [0, 16, 31, 33, 64]) expect(() => new TokenKey(randomBytes(length))).toThrow(/32 bytes/);
  });

  it('keeps the secret out of JSON and util.inspect (a logged object never carries it)', () => {
    const secret = randomBytes(32);
    const shown = new TokenKey(secret);
    const texts = [JSON.stringify(shown), JSON.stringify({ shown }), inspect(shown, { showHidden: true, depth: 5 })];
    for (const text of texts) {
      expect(text).not.toContain(secret.toString('hex'));
      expect(text).not.toContain(secret.toString('base64'));
      expect(text).not.toContain(secret.toString('base64url'));
      expect(text).not.toMatch(/"data":\[/);
    }
    expect(JSON.stringify(shown)).toBe(JSON.stringify({ id: shown.id }));
  });
});

describe('hashes made under another key (a registry restored beside the wrong key file)', () => {
  it('counts keyed hashes of another key, not this key’s, scrypt ones or revoked', async () => {
    const key = new TokenKey(randomBytes(32));
    const other = new TokenKey(randomBytes(32));
    const stored = [
      key.hash(generateToken()),
      other.hash(generateToken()),
      other.hash(generateToken()),
      await hashToken(generateToken()),
      'revoked',
    ];
    expect(hashesUnderAnotherKey(stored, key)).toBe(2);
    expect(hashesUnderAnotherKey(stored.slice(0, 1), key)).toBe(0);
  });
});
