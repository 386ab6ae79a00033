/** The median, for the few places that have their values in an array already (T₂ at sunset + 2 h, model fitting). */

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort(); // typed arrays sort numerically, without a comparator call per step
  const mid = sorted.length >> 1;
  const hi = sorted[mid] as number;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] as number) + hi) / 2;
}
