import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { topicMatches, isWildcardFilter, startsWithWildcard } from '../../src/topics/index.js';
import { MATCH_CASES, caseName, filterArb, topicArb } from './cases.js';

for (const c of MATCH_CASES) {
  void test(`topicMatches ${caseName(c)}`, () => {
    assert.equal(topicMatches(c.filter, c.topic), c.matches);
  });
}

/** A second, obviously correct matcher built on split, to cross-check the allocation-free one. */
function naiveMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false; // [MQTT-4.7.2-1]
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // [MQTT-4.7.1-2]
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false; // [MQTT-4.7.1-3]
  }
  return f.length === t.length;
}

void test('topicMatches agrees with a split-based matcher on random filters and topics [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1]', () => {
  fc.assert(
    fc.property(filterArb, topicArb, (filter, topic) => topicMatches(filter, topic) === naiveMatches(filter, topic)),
    { numRuns: 2000 },
  );
});

void test('a literal filter matches exactly the topic equal to it', () => {
  fc.assert(fc.property(topicArb, topicArb, (a, b) => topicMatches(a, b) === (a === b)), { numRuns: 500 });
});

void test('topicMatches handles a topic of 10,000 levels', () => {
  const topic = Array.from({ length: 10_000 }, () => 'x').join('/');
  assert.equal(topicMatches('#', topic), true);
  assert.equal(topicMatches('x/+/#', topic), true);
  assert.equal(topicMatches(topic, topic), true);
  assert.equal(topicMatches('x/+', topic), false);
});

void test('isWildcardFilter looks at whole levels [MQTT-4.7.1-3]', () => {
  assert.equal(isWildcardFilter('a/+'), true);
  assert.equal(isWildcardFilter('#'), true);
  assert.equal(isWildcardFilter('a/b'), false);
  assert.equal(isWildcardFilter('a+/b#'), false);
  assert.equal(startsWithWildcard('+/a'), true);
  assert.equal(startsWithWildcard('#'), true);
  assert.equal(startsWithWildcard('$SYS/#'), false);
});
