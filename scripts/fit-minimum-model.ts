/**
 * Fits the default minimum model on every shipped real night and writes frost/minimum-default.ts.
 * Run: `npm run fit:minimum` (builds first). The leave-one-station-out skill of the same procedure is what
 * `frostwatch backtest --loso` and tests/unit/frost-skill.test.ts report.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitExcept, minimumRows } from '../backtest/minimum-fit.js';
import { loadDatasets, shippedDatasetDirs } from '../backtest/datasets.js';
import { prepareReadings } from '../backtest/replay.js';

const root = join(import.meta.dirname, '..', '..');
const dirs = shippedDatasetDirs(root);
const data = loadDatasets(dirs);
const rows = minimumRows(prepareReadings(data.readings), data.stations, data.nights);
const frost = data.nights.filter((n) => n.kind === 'frost').length;
const source = `least squares on ${data.nights.length} real nights (${frost} frost, ${data.nights.length - frost} near misses) of ${rows.size} stations: ${[...rows.keys()].join(', ')}`;
const model = fitExcept(rows, null, source);
const bucket = (b: { coef: number[]; sdC: number; n: number }): string => `    { coef: [${b.coef.join(', ')}], sdC: ${b.sdC}, n: ${b.n} },`;
const text = `import type { MinimumModel } from './minimum-model.js';

/**
 * The default minimum model, written by scripts/fit-minimum-model.ts (\`npm run fit:minimum\`) — do not edit by hand.
 * Fitted by ${source}.
 * Rows: one per reading from sunset to sunrise; buckets: hours since sunset (the last one: 9 h and more).
 * Its out-of-sample skill (each station predicted by a model fitted on the others) is in docs/frost-model.md.
 */
export const DEFAULT_MINIMUM_MODEL: MinimumModel = {
  withDew: [
${model.withDew.map(bucket).join('\n')}
  ],
  airOnly: [
${model.airOnly.map(bucket).join('\n')}
  ],
  source: ${JSON.stringify(`fitted on ${data.nights.length} real nights of ${rows.size} stations`)},
};
`;
writeFileSync(join(root, 'frost', 'minimum-default.ts'), text);
process.stdout.write(`frost/minimum-default.ts written: ${source}\n`);
