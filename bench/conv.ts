import type { BenchRow } from './table.js';

/** Placeholder until the conv suite lands. */
export async function run(_args: string[]): Promise<BenchRow[]> {
  return [];
}
