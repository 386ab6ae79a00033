/** `node dist/bench/<id>.js [--quick]`: run one benchmark on its own and print its rows. */
import { pathToFileURL } from 'node:url';
import { applyHeapPolicy } from '../../server/heap-policy.js';
import { benchHeapPolicy } from '../lib/heap.js';
import type { Bench } from '../types.js';

export async function runIfMain(moduleUrl: string, bench: Bench): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  applyHeapPolicy(benchHeapPolicy()); // as bench/run.ts does
  const rows = await bench.run({ quick: process.argv.includes('--quick'), progress: (line) => process.stderr.write(`\r${line}\u001b[K`) });
  process.stderr.write('\n');
  console.table(rows);
}
