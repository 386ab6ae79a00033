import { describe, expect, it } from 'vitest';
import {
  AdminEnvSchema,
  acceleratedClock,
  anchoredClock,
  heldAcceleratedClock,
  loadEnv,
  nonDecreasing,
  parseClockAnchor,
} from '../../contracts/index.js';

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

describe('a clock anchored by SIM_CLOCK (every process of a cluster on one simulated line)', () => {
  it('parses <ISO>@<epoch ms>x<speed> and runs the line through that instant at that speed, whenever it starts', () => {
    const anchor = parseClockAnchor('2025-01-15T16:00:00+07:00@1764810000000x600');
    expect(anchor).toEqual({ simMs: Date.parse('2025-01-15T09:00:00Z'), wallMs: 1_764_810_000_000, speed: 600 });
    if (!anchor) throw new Error('not parsed');
    let wall = 1_764_810_000_000 + 2_000; // a process started two seconds after the anchor …
    const late = anchoredClock(anchor, () => wall);
    wall += 1_000;
    const early = anchoredClock(anchor, () => wall); // … and one a second later still: the same time line
    expect(late.now()).toBe(early.now());
    expect(late.now()).toBe(Date.parse('2025-01-15T09:00:00Z') + 3_000 * 600);
    expect(late.speed).toBe(600);
  });

  it('refuses what is not such a line, by name', () => {
    for (const bad of [
      '2025-01-15T16:00:00Z',
      'yesterday@1764810000000x600',
      '2025-01-15T16:00:00Z@1764810000000x0',
      '2025-01-15T16:00:00Z@17x600',
    ])
      expect(parseClockAnchor(bad), bad).toBeNull();
    expect(() => loadEnv(AdminEnvSchema, { SIM_CLOCK: 'tomorrow' })).toThrow(/SIM_CLOCK: expected <ISO time>@<epoch ms>x<speed>/);
  });
});
