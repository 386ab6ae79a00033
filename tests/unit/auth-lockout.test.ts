import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AuthLockout, MAX_LOCKOUT_KEYS } from '../../gateway/auth-lockout.js';
import { maskAddress } from '../../gateway/remote-address.js';

describe('maskAddress', () => {
  it.each([
    ['203.0.113.57', '203.0.113.x'],
    ['::ffff:198.51.100.7', '198.51.100.x'],
    ['2001:db8:85a3::8a2e:370:7334', '2001:db8:85a3:…'],
    ['unknown', 'unknown'],
  ])('%s → %s', (address, masked) => expect(maskAddress(address)).toBe(masked));
});

describe('AuthLockout', () => {
  const make = (maxFailures = 3) => {
    let now = 0;
    const lockout = new AuthLockout(
      { maxFailures, windowMs: 1_000, cooldownMs: 5_000 },
      { now: () => now, speed: 1 },
      pino({ level: 'silent' }),
      new Registry(),
    );
    return { lockout, advance: (ms: number) => (now += ms) };
  };

  it('locks a (station, address) at the threshold, for the cooldown only', () => {
    const { lockout, advance } = make();
    lockout.recordFailure('st-a', '10.0.0.1');
    lockout.recordFailure('st-a', '10.0.0.1');
    expect(lockout.isLocked('st-a', '10.0.0.1')).toBe(false);
    lockout.recordFailure('st-a', '10.0.0.1');
    expect(lockout.isLocked('st-a', '10.0.0.1')).toBe(true);
    expect(lockout.isLocked('st-a', '10.0.0.2')).toBe(false);
    expect(lockout.isLocked('st-b', '10.0.0.1')).toBe(false);
    advance(5_001);
    expect(lockout.isLocked('st-a', '10.0.0.1')).toBe(false);
  });

  it('a success clears the count; failures older than the window start over', () => {
    const { lockout, advance } = make();
    lockout.recordFailure('st-a', '10.0.0.1');
    lockout.recordFailure('st-a', '10.0.0.1');
    lockout.recordSuccess('st-a', '10.0.0.1');
    lockout.recordFailure('st-a', '10.0.0.1');
    lockout.recordFailure('st-a', '10.0.0.1');
    advance(1_001);
    lockout.recordFailure('st-a', '10.0.0.1');
    expect(lockout.isLocked('st-a', '10.0.0.1')).toBe(false);
  });

  it('stays bounded under a flood of distinct pairs and keeps working', () => {
    const { lockout } = make(1);
    for (let i = 0; i < 120_000; i += 1) lockout.recordFailure('st-a', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(lockout.size).toBe(MAX_LOCKOUT_KEYS);
    lockout.recordFailure('st-z', '192.0.2.1');
    expect(lockout.isLocked('st-z', '192.0.2.1')).toBe(true);
    expect(lockout.size).toBe(MAX_LOCKOUT_KEYS);
  });
});
