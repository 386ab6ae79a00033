import { describe, expect, it } from 'vitest';
import { bearerMatches, bearerToken } from '../../server/auth/admin-token.js';
import { generateToken, hashToken, verifyToken } from '../../server/auth/station-tokens.js';

const B64URL = '[A-Za-z0-9_-]';

// Station tokens are stored as keyed hashes (token-key.test.ts); scrypt stays for people's passwords and for hashes
// of tokens issued before, until their next login (token-upgrade.test.ts).
describe('station tokens, and scrypt hashes', () => {
  it('generates 32 random bytes as base64url, different every time', () => {
    const tokens = new Set(Array.from({ length: 50 }, generateToken));
    expect(tokens.size).toBe(50);
    for (const token of tokens) {
      expect(token).toMatch(new RegExp(`^${B64URL}{43}$`));
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
  });

  it('hashes to scrypt$N$r$p$salt$hash with a fresh salt each time', async () => {
    const token = generateToken();
    const [a, b] = await Promise.all([hashToken(token), hashToken(token)]);
    expect(a).toMatch(new RegExp(`^scrypt\\$16384\\$8\\$1\\$${B64URL}{22}\\$${B64URL}{43}$`));
    expect(a).not.toBe(b);
    expect(a).not.toContain(token);
  });

  it('verifies the right token, as a string or as the bytes MQTT delivers', async () => {
    const token = generateToken();
    const stored = await hashToken(token);
    expect(await verifyToken(token, stored)).toBe(true);
    expect(await verifyToken(Buffer.from(token, 'utf8'), stored)).toBe(true);
  });

  it('refuses a wrong token, a prefix of it, and an empty one', async () => {
    const token = generateToken();
    const stored = await hashToken(token);
    expect(await verifyToken(generateToken(), stored)).toBe(false);
    expect(await verifyToken(token.slice(0, -1), stored)).toBe(false);
    expect(await verifyToken('', stored)).toBe(false);
  });

  it('refuses when the stored salt or hash was tampered with', async () => {
    const token = generateToken();
    const stored = await hashToken(token);
    const parts = stored.split('$');
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    const tamperedSalt = [...parts.slice(0, 4), flip(parts[4] ?? ''), parts[5]].join('$');
    const tamperedHash = [...parts.slice(0, 5), flip(parts[5] ?? '')].join('$');
    const otherCost = ['scrypt', '8192', ...parts.slice(2)].join('$');
    expect(await verifyToken(token, tamperedSalt)).toBe(false);
    expect(await verifyToken(token, tamperedHash)).toBe(false);
    expect(await verifyToken(token, otherCost)).toBe(false);
  });

  it('accepts only the canonical form of a correct hash', async () => {
    const token = generateToken();
    const stored = await hashToken(token);
    const variants = [
      stored.replace('scrypt', 'SCRYPT'),
      stored.replace('$16384$', '$016384$'),
      stored.replace('$8$', '$+8$'),
      `${stored}=`,
      `${stored}\n`,
      ` ${stored}`,
      stored.replace(/\$([^$]+)$/, '$$$1!'),
    ];
    for (const variant of variants) expect(await verifyToken(token, variant), variant).toBe(false);
  });

  const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
  const hash = 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
  it.each([
    ['empty', ''],
    ['plain text', 'not-a-hash'],
    ['another scheme', `bcrypt$16384$8$1$${salt}$${hash}`],
    ['too few parts', `scrypt$16384$8$1$${hash}`],
    ['too many parts', `scrypt$16384$8$1$${salt}$${hash}$x`],
    ['N not a power of two', `scrypt$10000$8$1$${salt}$${hash}`],
    ['N far too costly', `scrypt$1073741824$8$1$${salt}$${hash}`],
    ['r far too costly', `scrypt$16384$4096$1$${salt}$${hash}`],
    ['p zero', `scrypt$16384$8$0$${salt}$${hash}`],
    ['p too high', `scrypt$16384$8$99$${salt}$${hash}`],
    ['non-numeric cost', `scrypt$abc$8$1$${salt}$${hash}`],
    ['salt not base64url', `scrypt$16384$8$1$sa+lt/salt==$${hash}`],
    ['hash too short', `scrypt$16384$8$1$${salt}$aGFzaA`],
    ['empty salt', `scrypt$16384$8$1$$${hash}`],
  ])('treats an unknown or malformed stored format (%s) as a refusal', async (_name, stored) => {
    expect(await verifyToken(generateToken(), stored)).toBe(false);
  });
});

describe('admin bearer token', () => {
  const token = 'admin-token-0123456789abcdef';
  it.each([
    [`Bearer ${token}`, true],
    [`bearer ${token}`, true],
    [`Bearer  ${token} `, true],
    [undefined, false],
    ['', false],
    [token, false],
    [`Basic ${token}`, false],
    [`Bearer ${token}x`, false],
    [`Bearer ${token.slice(1)}`, false],
    ['Bearer ', false],
    [`Bearer ${token} extra`, false],
  ])('header %j matches: %s', (header, expected) => {
    expect(bearerMatches(header, token)).toBe(expected);
  });

  it('extracts the presented token', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Token abc')).toBeNull();
  });
});
