import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * HEAP_POLICY=compact must reach the heaps it is for: the rule engine's thread, started after the policy is applied,
 * gets V8's small young generation, and the main thread's heap is sized close to what is live. Each policy runs in a
 * Node process of its own (a V8 flag is process-wide), on the compiled server/heap-policy.js the test setup builds.
 */
function heapsUnder(policy: string): { workerNewSpaceMb: number; mainHeapMb: number; mainUsedMb: number } {
  const script = `
    const { applyHeapPolicy } = await import(${JSON.stringify(new URL('../../dist/server/heap-policy.js', import.meta.url).href)});
    const { Worker } = await import('node:worker_threads');
    const v8 = await import('node:v8');
    applyHeapPolicy(process.argv[1]);
    // Allocate as a busy thread does: short-lived garbage, and a slowly growing live set.
    const live = [];
    for (let i = 0; i < 4e6; i++) { const o = { i, s: 'x' + (i % 97) }; if (i % 40 === 0) live.push(o); }
    const workerNewSpace = await new Promise((resolve, reject) => {
      const w = new Worker("const v8 = require('node:v8'); const { parentPort } = require('node:worker_threads'); let g = []; for (let i = 0; i < 2e6; i++) { g.push({ i }); if (g.length > 5e4) g = []; } parentPort.postMessage(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);", { eval: true, execArgv: [] });
      w.once('message', resolve); w.once('error', reject);
    });
    const h = v8.getHeapStatistics();
    process.stdout.write(JSON.stringify({ workerNewSpaceMb: workerNewSpace / 2 ** 20, mainHeapMb: h.total_heap_size / 2 ** 20, mainUsedMb: h.used_heap_size / 2 ** 20, live: live.length }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, policy], { encoding: 'utf8' })) as ReturnType<
    typeof heapsUnder
  >;
}

describe('HEAP_POLICY', () => {
  it('compact gives the engine thread a small young generation and keeps the main heap nearer what is live than fast does', () => {
    const compact = heapsUnder('compact');
    const fast = heapsUnder('fast');
    expect(compact.workerNewSpaceMb).toBeLessThanOrEqual(2);
    expect(fast.workerNewSpaceMb).toBeGreaterThan(4);
    expect(compact.mainHeapMb - compact.mainUsedMb).toBeLessThan(fast.mainHeapMb - fast.mainUsedMb);
  });
});
