// The seeds of the suite's random inputs (test/helpers/seed.ts): one run seed, derived per input,
// named in a failure so that CICADA_TEST_SEED replays it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_SEED, prng, seedFor, withSeed } from '../helpers/seed.js';

void test('the run seed comes from CICADA_TEST_SEED; each input gets its own seed from it, the same every time', () => {
  assert.equal(process.env.CICADA_TEST_SEED, String(BASE_SEED));
  assert.equal(seedFor('crash 150'), seedFor('crash 150'));
  assert.notEqual(seedFor('crash 150'), seedFor('crash 400'));
  const a = prng(seedFor('x'));
  const b = prng(seedFor('x'));
  const first = Array.from({ length: 5 }, () => a());
  assert.deepEqual(Array.from({ length: 5 }, () => b()), first);
  assert.ok(first.every((n) => n >= 0 && n < 1));
});

void test('a failure with a random input names its seed and how to replay it', async () => {
  await assert.rejects(
    withSeed('failing input', (rnd) => {
      rnd();
      throw new Error('the broker lost a message');
    }),
    (error: Error) => {
      assert.equal(error.message, `the broker lost a message (seed ${seedFor('failing input')}; replay with CICADA_TEST_SEED=${BASE_SEED})`);
      assert.match(error.stack ?? '', /replay with CICADA_TEST_SEED=/);
      return true;
    },
  );
  assert.equal(await withSeed('passing input', (_rnd, seed) => seed), seedFor('passing input'));
});
