/** The HEAP_POLICY a bench run measures (server/heap-policy.ts): the shipped `compact`, or `fast` when the environment says so. */
import type { HeapPolicy } from '../../server/heap-policy.js';

export function benchHeapPolicy(): HeapPolicy {
  return process.env['HEAP_POLICY'] === 'fast' ? 'fast' : 'compact';
}

/** How the report's command line shows a run that measured V8's defaults. */
export function heapPrefix(): string {
  return benchHeapPolicy() === 'fast' ? 'HEAP_POLICY=fast ' : '';
}
