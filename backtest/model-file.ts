import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MINIMUM_BUCKETS_COUNT, type MinimumModel } from '../frost/index.js';
import { BacktestInputError } from './csv.js';

const BucketSchema = z.object({ coef: z.array(z.number()), sdC: z.number().nonnegative(), n: z.number().int().nonnegative() });

/** A minimum model as `--fit` writes it and `--model` reads it. */
export const MinimumModelSchema = z.object({
  withDew: z.array(BucketSchema.extend({ coef: z.array(z.number()).length(5) })).length(MINIMUM_BUCKETS_COUNT),
  airOnly: z.array(BucketSchema.extend({ coef: z.array(z.number()).length(3) })).length(MINIMUM_BUCKETS_COUNT),
  source: z.string(),
});

export function readModelFile(file: string): MinimumModel {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BacktestInputError(`${file}: not a JSON file (${(err as Error).message})`);
  }
  const parsed = MinimumModelSchema.safeParse(json);
  if (!parsed.success)
    throw new BacktestInputError(
      `${file}: not a minimum model (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`,
    );
  return parsed.data;
}
