import type { Parameters } from 'fast-check';

/**
 * One place for how hard the fuzzers try. fast-check picks a fresh seed per run and prints it (with the path of the
 * failing case) when a property fails; FROSTWATCH_FUZZ_SEED=<seed> replays that run. FROSTWATCH_LONG_TESTS=1 runs
 * every property 20 times as often.
 */
const seedText = process.env.FROSTWATCH_FUZZ_SEED;
const long = process.env.FROSTWATCH_LONG_TESTS === '1';

export function fuzzRuns<T>(numRuns: number): Parameters<T> {
  const seed = seedText === undefined || seedText === '' ? undefined : Number(seedText);
  return { numRuns: long ? numRuns * 20 : numRuns, ...(seed === undefined ? {} : { seed }) };
}

/** Per-test timeout for the properties that do IO: the long runs take minutes. */
export const FUZZ_TIMEOUT_MS = long ? 1_800_000 : 60_000;
