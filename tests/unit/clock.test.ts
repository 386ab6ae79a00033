import { describe, expect, it } from 'vitest';
import { acceleratedClock, heldAcceleratedClock, nonDecreasing } from '../../contracts/index.js';

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

describe('the server clock never goes back', () => {
  it('a wall clock stepping back holds time still until it catches up; a step forward is followed', () => {
    let wall = Date.parse('2026-12-20T05:00:00+07:00');
    const steps: number[] = [];
    const clock = nonDecreasing({ now: () => wall, speed: 1 }, (byMs) => steps.push(byMs));
    expect(clock.now()).toBe(wall);
    const before = wall;
    wall -= 3_600_000; // an NTP step back of an hour
    expect(clock.now()).toBe(before);
    expect(clock.now()).toBe(before);
    expect(steps).toEqual([3_600_000]); // heard once per step, not at every read
    wall += 3_600_000 + 5_000; // caught up and past
    expect(clock.now()).toBe(before + 5_000);
    wall += 86_400_000; // a step forward
    expect(clock.now()).toBe(before + 5_000 + 86_400_000);
    wall -= 500; // jitter under a second is held silently
    clock.now();
    expect(steps).toHaveLength(1);
  });
});
