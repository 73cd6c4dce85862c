import type { BenchRow } from './table.js';

/** Placeholder until the unet suite lands. */
export async function run(_args: string[]): Promise<BenchRow[]> {
  return [];
}
