/**
 * HEAP_POLICY: how V8 sizes the heaps of a long-running frostwatch process (`up`, `server`, `gateway`).
 *
 * V8's default keeps heap room in proportion to how fast a thread allocates: under a fleet's readings the main
 * thread held 434 MB for 166 MB in use (10,000 stations on a simulated night, BENCHMARKS.md group 8). `compact` sets
 * V8's `--optimize-for-size` as the process starts: every later collection sizes the heaps close to what is live,
 * and the rule engine's thread — started after this — gets V8's small young generation too. The main thread's young
 * generation was sized when Node started and stays as it was, which keeps most of the ingest rate (measured: ~20 %
 * less peak ingest, where the same flag on the command line cost ~45 %: docs/operations.md "Memory").
 *
 * Why at run time and not on the command line: every way of starting frostwatch (scripts/up, npm start, a systemd
 * unit, `node dist/cli/main.js`) gets the same policy, and the main thread keeps its young generation. V8 reads this
 * flag at each collection, which is what makes the late setting take effect; Node's caveat about flags changed after
 * start is about flags read once, such as the heap's fixed limits.
 */
import { setFlagsFromString } from 'node:v8';
import type { HeapPolicy } from '../contracts/index.js';

export function applyHeapPolicy(policy: HeapPolicy): void {
  if (policy === 'compact') setFlagsFromString('--optimize-for-size');
}
