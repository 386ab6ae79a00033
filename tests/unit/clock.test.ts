import { describe, expect, it } from 'vitest';
import { acceleratedClock, heldAcceleratedClock } from '../../contracts/index.js';

const START = Date.parse('2026-12-20T14:40:00+07:00');

describe('the simulated time line', () => {
  it('runs speed times faster than the wall clock from the moment it is made', () => {
    let real = 1_000;
    const clock = acceleratedClock(START, 600, () => real);
    real += 2_000;
    expect(clock.now()).toBe(START + 1_200_000);
  });

  it('held: stands at its start however long the system takes to come up, then runs from the release', () => {
    let real = 1_000;
    const clock = heldAcceleratedClock(START, 600, () => real);
    real += 15_000; // a slow start on a busy machine: 150 simulated minutes at ×600
    expect(clock.now()).toBe(START);
    clock.release();
    expect(clock.now()).toBe(START);
    real += 1_000;
    expect(clock.now()).toBe(START + 600_000);
    clock.release(); // a second release does not restart it
    real += 1_000;
    expect(clock.now()).toBe(START + 1_200_000);
  });

  it('refuses a speed that is not a positive number', () => {
    expect(() => heldAcceleratedClock(START, 0)).toThrow(RangeError);
    expect(() => heldAcceleratedClock(START, Number.NaN)).toThrow(RangeError);
  });
});
