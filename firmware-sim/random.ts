import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/**
 * Counter-based randomness: every draw is keyed by (seed, what, who, when), so a value never depends
 * on the order in which other values were asked for. That keeps `sampleWeather(station, t)` a pure
 * function — the same reading whether a device computes it live or a test replays a whole night.
 */
export interface Draw {
  /** Uniform in [0, 1). */
  uniform(): number;
  between(min: number, max: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** FNV-1a (32 bit) over the key's text: cheap, stable across platforms, good enough to seed a PRNG. */
export function hashKey(parts: readonly (string | number)[]): number {
  const text = parts.join('\u001f');
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

export function drawFor(...parts: (string | number)[]): Draw {
  return fromGenerator(xoroshiro128plus(hashKey(parts)));
}

function fromGenerator(rng: RandomGenerator): Draw {
  const uniform = (): number => uniformFloat64(rng);
  return {
    uniform,
    between: (min, max) => min + (max - min) * uniform(),
    normal: () => {
      const u1 = 1 - uniform(); // (0, 1]: log(0) would be -Infinity
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * uniform());
    },
    chance: (probability) => uniform() < probability,
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(uniform() * items.length)];
      if (item === undefined) throw new RangeError('pick from an empty list');
      return item;
    },
  };
}
