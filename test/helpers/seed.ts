/**
 * Random test inputs (fast-check properties, fuzzing, crash timing) all come from one seed,
 * CICADA_TEST_SEED: scripts/run-tests.mjs chooses it when unset and prints it at the end (and
 * the preload gives it to fast-check); a test file run on its own chooses one here. A failure
 * names the seed, so `CICADA_TEST_SEED=N node scripts/run-tests.mjs <file>` replays it.
 */

/** The run's seed: CICADA_TEST_SEED, or one chosen once for this process. */
export const BASE_SEED: number = (() => {
  const given = process.env.CICADA_TEST_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isSafeInteger(n)) throw new Error(`CICADA_TEST_SEED must be an integer, got '${given}'`);
    return n;
  }
  const chosen = Math.floor(Math.random() * 2 ** 31);
  process.env.CICADA_TEST_SEED = String(chosen);
  return chosen;
})();

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of one random input: the run's seed mixed with its label (FNV-1a), so inputs differ. */
export function seedFor(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return (h ^ BASE_SEED) >>> 0;
}

/** How to replay: appended to the message of a failure. */
export function replayNote(seed: number): string {
  return `seed ${seed}; replay with CICADA_TEST_SEED=${BASE_SEED}`;
}

/**
 * Run `fn` with a random source seeded for `label`; a failure's message names the seed and how
 * to replay it.
 */
export async function withSeed<T>(label: string, fn: (rnd: () => number, seed: number) => T | Promise<T>): Promise<T> {
  const seed = seedFor(label);
  try {
    return await fn(prng(seed), seed);
  } catch (error) {
    if (error instanceof Error) {
      const note = ` (${replayNote(seed)})`;
      const first = error.message;
      error.message = `${first}${note}`;
      if (typeof error.stack === 'string' && error.stack.includes(first)) error.stack = error.stack.replace(first, error.message);
    }
    throw error;
  }
}
