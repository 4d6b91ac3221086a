import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SubscriptionIndex, topicMatches, DEFAULT_CACHE_SIZE } from '../../src/topics/index.js';
import { MATCH_CASES, caseName, filterArb, sorted, topicArb } from './cases.js';

for (const c of MATCH_CASES) {
  void test(`SubscriptionIndex ${caseName(c)}`, () => {
    const index = new SubscriptionIndex<string, string>();
    index.add(c.filter, 'k', 'v');
    assert.deepEqual(index.match(c.topic), c.matches ? ['v'] : []);
  });
}

void test('SubscriptionIndex holding every table filter returns exactly the matching ones per topic', () => {
  const index = new SubscriptionIndex<string, string>();
  const filters = new Set(MATCH_CASES.map((c) => c.filter));
  for (const filter of filters) index.add(filter, 'k', filter);
  for (const topic of new Set(MATCH_CASES.map((c) => c.topic))) {
    const expected = [...filters].filter((f) => topicMatches(f, topic));
    assert.deepEqual(sorted(index.match(topic)), sorted(expected), topic);
    assert.deepEqual(sorted(index.match(topic)), sorted(expected), `${topic} (cached)`);
  }
});

void test('add replaces the entry of an existing (filter, key) [MQTT-3.8.4-3]', () => {
  const index = new SubscriptionIndex<string, number>();
  assert.equal(index.add('a/+', 's1', 1), true);
  assert.deepEqual(index.match('a/b'), [1]);
  assert.equal(index.add('a/+', 's1', 2), false);
  assert.deepEqual(index.match('a/b'), [2]);
  assert.equal(index.add('a/b', 's1', 3), true);
  assert.equal(index.add('a/b', 's1', 4), false);
  assert.deepEqual(sorted(index.match('a/b')), [2, 4]);
  assert.equal(index.get('a/+', 's1'), 2);
  assert.equal(index.get('a/b', 's1'), 4);
  assert.equal(index.get('a/#', 's1'), undefined);
  assert.equal(index.get('a/b', 's2'), undefined);
  assert.equal(index.size, 2);
  assert.equal(index.filterCount, 2);
});

void test('one key may hold several overlapping filters; each entry is reported', () => {
  const index = new SubscriptionIndex<string, string>();
  index.add('a/#', 's1', 'hash');
  index.add('a/+', 's1', 'plus');
  index.add('a/b', 's1', 'literal');
  index.add('a/b', 's2', 'other');
  assert.deepEqual(sorted(index.match('a/b')), ['hash', 'literal', 'other', 'plus']);
  assert.equal(index.size, 4);
  assert.equal(index.filterCount, 3);
});

void test('remove reports whether an entry existed and updates size and filterCount', () => {
  const index = new SubscriptionIndex<string, string>();
  index.add('a/#', 's1', 'x');
  index.add('a/#', 's2', 'y');
  index.add('b', 's1', 'z');
  assert.equal(index.remove('a/#', 's3'), false);
  assert.equal(index.remove('a/+', 's1'), false);
  assert.equal(index.remove('c', 's1'), false);
  assert.equal(index.remove('a/#', 's1'), true);
  assert.equal(index.remove('a/#', 's1'), false);
  assert.deepEqual(index.match('a/q'), ['y']);
  assert.equal(index.remove('b', 's1'), true);
  assert.deepEqual(index.match('b'), []);
  assert.equal(index.size, 1);
  assert.equal(index.filterCount, 1);
});

void test('a returned result is never mutated by later changes; the next match sees them', () => {
  const index = new SubscriptionIndex<string, string>();
  index.add('a/b', 's1', 'literal');
  const before = index.match('a/b');
  assert.equal(index.match('a/b'), before, 'second match is served from the cache');
  index.add('a/+', 's2', 'plus');
  index.add('a/b', 's3', 'literal2');
  assert.deepEqual(before, ['literal']);
  assert.deepEqual(sorted(index.match('a/b')), ['literal', 'literal2', 'plus']);
  index.remove('a/+', 's2');
  assert.deepEqual(sorted(index.match('a/b')), ['literal', 'literal2']);
});

void test('removing every filter prunes the trie to nothing', () => {
  const index = new SubscriptionIndex<number, number>();
  const filters = ['a/+/c', 'a/+/#', 'a/b/c/+', '+', '#', '+/+/+/+', '$SYS/#', 'a//+', '/+', 'x/y'];
  filters.forEach((f, i) => index.add(f, i, i));
  assert.ok(index.nodeCount > 0);
  // Remove in an order different from insertion, so pruning meets shared prefixes.
  for (const i of [3, 0, 9, 5, 1, 7, 2, 8, 6, 4]) assert.equal(index.remove(filters[i]!, i), true);
  assert.equal(index.nodeCount, 0);
  assert.equal(index.size, 0);
  assert.equal(index.filterCount, 0);
  assert.deepEqual(index.match('a/b/c'), []);
});

void test('a 10,000-level topic and filter neither throw nor recurse', () => {
  const levels = Array.from({ length: 10_000 }, () => 'x');
  const topic = levels.join('/');
  const deepFilter = levels.map(() => '+').join('/');
  const index = new SubscriptionIndex<string, string>();
  index.add('#', 'k', 'root-hash');
  index.add('x/#', 'k', 'x-hash');
  index.add('x/+/x/#', 'k', 'mixed');
  index.add('x/x', 'k', 'short');
  index.add(deepFilter, 'k', 'deep');
  index.add(topic, 'k', 'literal');
  assert.deepEqual(sorted(index.match(topic)), ['deep', 'literal', 'mixed', 'root-hash', 'x-hash']);
  assert.equal(index.cachedTopicCount, 0, 'very long topics are not cached');
  assert.equal(index.remove(deepFilter, 'k'), true);
  assert.ok(index.nodeCount < 10);
});

void test(`the result cache stays bounded (default ${DEFAULT_CACHE_SIZE} topics) after 5,000 distinct topics`, () => {
  const index = new SubscriptionIndex<string, string>();
  index.add('t/+', 'k', 'v');
  for (let i = 0; i < 5000; i++) {
    assert.deepEqual(index.match(`t/${i}`), ['v']);
    assert.ok(index.cachedTopicCount <= DEFAULT_CACHE_SIZE);
  }
  assert.equal(index.cachedTopicCount, DEFAULT_CACHE_SIZE);
  const small = new SubscriptionIndex<string, string>({ cacheSize: 3 });
  for (let i = 0; i < 10; i++) small.match(`t/${i}`);
  assert.equal(small.cachedTopicCount, 3);
  const none = new SubscriptionIndex<string, string>({ cacheSize: 0 });
  none.add('t/#', 'k', 'v');
  assert.deepEqual(none.match('t/1'), ['v']);
  assert.equal(none.cachedTopicCount, 0);
});

type Op =
  | { readonly op: 'add'; readonly filter: number; readonly key: number }
  | { readonly op: 'remove'; readonly filter: number; readonly key: number }
  | { readonly op: 'match'; readonly topic: number };

// Ops pick filters and topics from small per-run pools, so the same topic is matched again after
// changes (exercising the cache) and removes usually hit existing entries.
const pick = fc.nat({ max: 7 });
// Filters 0-3 are wildcard filters (their changes clear the cache), 4-7 literal ones (their
// changes drop one entry): literals are picked more often so that path is exercised too.
const pickFilter = fc.oneof({ weight: 1, arbitrary: fc.nat({ max: 3 }) }, { weight: 2, arbitrary: fc.integer({ min: 4, max: 7 }) });
const keyArb = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('add' as const), filter: pickFilter, key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), filter: pickFilter, key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('match' as const), topic: pick }) },
);
const scenarioArb = fc
  .record({
    cacheSize: fc.constantFrom(0, 2, 1024),
    wildcards: fc.array(filterArb, { minLength: 4, maxLength: 4 }),
    literals: fc.array(topicArb, { minLength: 4, maxLength: 4 }),
    topics: fc.array(topicArb, { minLength: 2, maxLength: 2 }),
    ops: fc.array(opArb, { maxLength: 60, size: 'max' }),
  })
  .map(({ cacheSize, wildcards, literals, topics, ops }) => ({
    cacheSize,
    ops,
    filters: [...wildcards, ...literals],
    topics: [...topics, ...literals, ...wildcards.slice(0, 2).map(topicFor)],
  }));

/** A topic the filter matches (unless '$' rules forbid it), so literal filters get matched too. */
function topicFor(filter: string): string {
  const levels = filter.split('/').filter((l) => l !== '#').map((l) => (l === '+' ? 'b' : l));
  return levels.length === 0 ? 'a' : levels.join('/');
}

void test('SubscriptionIndex agrees with topicMatches under random add/remove/match, cache included [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1] [MQTT-3.8.4-3]', () => {
  fc.assert(
    fc.property(scenarioArb, ({ cacheSize, filters, topics, ops }) => {
      const index = new SubscriptionIndex<number, string>({ cacheSize });
      const model = new Map<string, Map<number, string>>();
      ops.forEach((o, step) => {
        if (o.op === 'match') {
          const topic = topics[o.topic]!;
          const expected: string[] = [];
          for (const [filter, bucket] of model) if (topicMatches(filter, topic)) expected.push(...bucket.values());
          assert.deepEqual(sorted(index.match(topic)), sorted(expected), topic);
          return;
        }
        const filter = filters[o.filter]!;
        if (o.op === 'add') {
          const bucket = model.get(filter) ?? new Map<number, string>();
          model.set(filter, bucket);
          const isNew = !bucket.has(o.key);
          const value = `${filter}|${o.key}|${step}`; // a new value each time: replacement shows
          bucket.set(o.key, value);
          assert.equal(index.add(filter, o.key, value), isNew);
        } else {
          const bucket = model.get(filter);
          const existed = bucket?.delete(o.key) ?? false;
          if (bucket?.size === 0) model.delete(filter);
          assert.equal(index.remove(filter, o.key), existed);
        }
        assert.equal(index.filterCount, model.size);
        assert.equal(index.size, [...model.values()].reduce((n, b) => n + b.size, 0));
      });
      for (const [filter, bucket] of model) for (const key of bucket.keys()) assert.equal(index.remove(filter, key), true);
      assert.equal(index.nodeCount, 0);
      assert.equal(index.size, 0);
    }),
    { numRuns: 300 },
  );
});
