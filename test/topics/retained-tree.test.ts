import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RetainedTree, topicMatches } from '../../src/topics/index.js';
import { MATCH_CASES, caseName, filterArb, sorted, topicArb } from './cases.js';

for (const c of MATCH_CASES) {
  void test(`RetainedTree ${caseName(c)}`, () => {
    const tree = new RetainedTree<string>();
    tree.set(c.topic, 'v');
    assert.deepEqual(tree.match(c.filter), c.matches ? ['v'] : []);
  });
}

void test('RetainedTree holding every table topic returns exactly the matching ones per filter', () => {
  const tree = new RetainedTree<string>();
  const topics = new Set(MATCH_CASES.map((c) => c.topic));
  for (const topic of topics) tree.set(topic, topic);
  for (const filter of new Set(MATCH_CASES.map((c) => c.filter))) {
    const expected = [...topics].filter((t) => topicMatches(filter, t));
    assert.deepEqual(sorted(tree.match(filter)), sorted(expected), filter);
  }
});

void test('set replaces the retained message of a topic [MQTT-3.3.1-5]; delete removes it [MQTT-3.3.1-6]', () => {
  const tree = new RetainedTree<number>();
  tree.set('a/b', 1);
  tree.set('a/b', 2);
  tree.set('a', 3);
  assert.equal(tree.size, 2);
  assert.equal(tree.get('a/b'), 2);
  assert.equal(tree.get('a'), 3);
  assert.equal(tree.get('a/c'), undefined);
  assert.equal(tree.get('a/b/c'), undefined);
  assert.deepEqual(sorted(tree.match('a/#')), [2, 3]);
  assert.equal(tree.delete('a/c'), false);
  assert.equal(tree.delete('a'), true);
  assert.equal(tree.delete('a'), false);
  assert.equal(tree.get('a'), undefined);
  assert.equal(tree.get('a/b'), 2, 'deleting a parent keeps its children');
  assert.equal(tree.size, 1);
});

void test('forEachMatch visits every match and tolerates changes during the visit [MQTT-3.3.1-9]', () => {
  const tree = new RetainedTree<string>();
  for (const t of ['a/x', 'a/y', 'a/z/w']) tree.set(t, t);
  const seen: string[] = [];
  tree.forEachMatch('a/#', (value) => {
    seen.push(value);
    tree.delete(value);
  });
  assert.deepEqual(sorted(seen), ['a/x', 'a/y', 'a/z/w']);
  assert.equal(tree.size, 0);
  assert.equal(tree.nodeCount, 0);
});

void test('deleting every topic prunes the tree to nothing', () => {
  const tree = new RetainedTree<number>();
  const topics = ['a/b/c', 'a/b', 'a', '/', '//', '$SYS/x', 'a//c', 'x/y/z/w'];
  topics.forEach((t, i) => tree.set(t, i));
  assert.ok(tree.nodeCount > 0);
  for (const i of [1, 7, 0, 3, 6, 2, 5, 4]) assert.equal(tree.delete(topics[i]!), true);
  assert.equal(tree.nodeCount, 0);
  assert.equal(tree.size, 0);
  assert.deepEqual(tree.match('#'), []);
});

void test('a 10,000-level topic neither throws nor recurses', () => {
  const topic = Array.from({ length: 10_000 }, () => 'x').join('/');
  const tree = new RetainedTree<string>();
  tree.set(topic, 'deep');
  tree.set('x', 'shallow');
  assert.deepEqual(sorted(tree.match('#')), ['deep', 'shallow']);
  assert.deepEqual(sorted(tree.match('x/#')), ['deep', 'shallow']);
  assert.deepEqual(tree.match(topic), ['deep']);
  assert.deepEqual(tree.match(`${topic}/#`), ['deep']);
  assert.equal(tree.get(topic), 'deep');
  assert.equal(tree.delete(topic), true);
  assert.equal(tree.nodeCount, 1);
});

type Op =
  | { readonly op: 'set'; readonly topic: number }
  | { readonly op: 'delete'; readonly topic: number }
  | { readonly op: 'match'; readonly filter: string };

const pick = fc.nat({ max: 7 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), topic: pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), topic: pick }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('match' as const), filter: filterArb }) },
);

void test('RetainedTree agrees with topicMatches under random set/delete/match [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1]', () => {
  fc.assert(
    fc.property(fc.array(topicArb, { minLength: 8, maxLength: 8 }), fc.array(opArb, { maxLength: 60, size: 'max' }), (topics, ops) => {
      const tree = new RetainedTree<string>();
      const model = new Map<string, string>();
      ops.forEach((o, step) => {
        if (o.op === 'match') {
          const expected = [...model].filter(([topic]) => topicMatches(o.filter, topic)).map(([, value]) => value);
          assert.deepEqual(sorted(tree.match(o.filter)), sorted(expected), o.filter);
          return;
        }
        const topic = topics[o.topic]!;
        if (o.op === 'set') {
          model.set(topic, `${topic}|${step}`);
          tree.set(topic, `${topic}|${step}`);
        } else {
          assert.equal(tree.delete(topic), model.delete(topic));
        }
        assert.equal(tree.size, model.size);
        assert.equal(tree.get(topic), model.get(topic));
      });
      for (const topic of model.keys()) assert.equal(tree.delete(topic), true);
      assert.equal(tree.nodeCount, 0);
    }),
    { numRuns: 300 },
  );
});
