/** The HEAP_POLICY a bench run measures (server/heap-policy.ts): the shipped `compact` unless the environment says `fast`. */
import { type HeapPolicy, HeapPolicySchema } from '../../contracts/index.js';

/** Read as the CLI reads it, so a misspelt value fails the run instead of quietly measuring the default. */
export function benchHeapPolicy(): HeapPolicy {
  const value = process.env['HEAP_POLICY'] || 'compact';
  const parsed = HeapPolicySchema.safeParse(value);
  if (!parsed.success) throw new Error(`HEAP_POLICY: expected ${HeapPolicySchema.options.join(' or ')} (got "${value}")`);
  return parsed.data;
}

/** How the report's command line shows a run that measured V8's defaults. */
export function heapPrefix(): string {
  return benchHeapPolicy() === 'fast' ? 'HEAP_POLICY=fast ' : '';
}
