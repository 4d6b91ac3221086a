// The dashboard's server-side topic tree (src/admin/topic-tree.ts), with a fake clock: values,
// counts, rates, history, the bound on topics (CLOCK eviction) and the trie listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopicTree } from '../../src/admin/topic-tree.js';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const text = (base64: string): string => Buffer.from(base64, 'base64').toString();

void test('topic tree: last value, count, QoS and retain per topic; settle() copies the value, never keeps the view', () => {
  const clock = fakeClock();
  const tree = new TopicTree({ now: clock.now });
  const chunk = Buffer.from('xx{"t":1}yy');
  tree.record('home/kitchen/temp', chunk.subarray(2, 9), 1, false);
  tree.settle(); // the feed's timer
  chunk.fill(0); // the socket's chunk is reused: the tree must not see it
  clock.advance(1000);
  tree.record('home/kitchen/temp', Buffer.from('{"t":2}'), 0, true);
  const detail = tree.detail('home/kitchen/temp');
  assert.ok(detail);
  assert.equal(text(detail.payload), '{"t":2}');
  assert.equal(detail.count, 2);
  assert.equal(detail.qos, 0);
  assert.equal(detail.retain, true);
  assert.equal(detail.firstAt, 1_000_000);
  assert.equal(detail.lastAt, 1_001_000);
  assert.deepEqual(
    detail.history.map((h) => [h.at, text(h.payload)]),
    [
      [1_000_000, '{"t":1}'],
      [1_001_000, '{"t":2}'],
    ],
  );
  assert.equal(tree.detail('home/kitchen'), undefined, 'a level with no message of its own has no detail');
});

void test('topic tree: between two settles only the last payload of a topic is copied (no copy per message)', () => {
  const clock = fakeClock();
  const tree = new TopicTree({ now: clock.now, sampleEveryMs: 0 });
  for (let i = 0; i < 10; i++) {
    tree.record('burst', Buffer.from(String(i)), 0, false);
    clock.advance(10);
  }
  const detail = tree.detail('burst')!;
  assert.equal(detail.count, 10);
  assert.deepEqual(detail.history.map((h) => text(h.payload)), ['9']);
});

void test('topic tree: values longer than maxValueBytes are cut with their size kept; binary and large payloads stay out of the history', () => {
  const tree = new TopicTree({ maxValueBytes: 4, maxSampleBytes: 8 });
  tree.record('a', Buffer.from('0123456789'), 0, false);
  tree.record('b', Buffer.from([0xff, 0x00]), 0, false);
  const a = tree.detail('a');
  assert.equal(text(a!.payload), '0123');
  assert.equal(a!.size, 10);
  assert.equal(a!.truncated, true);
  assert.equal(a!.history.length, 0, '10 bytes > maxSampleBytes');
  assert.equal(tree.detail('b')!.history.length, 0, 'binary payload');
  tree.record('a', Buffer.from('12'), 0, false);
  assert.equal(text(tree.detail('a')!.payload), '12', 'a shorter value reuses the buffer, with its own length');
  assert.equal(tree.detail('a')!.truncated, false);
});

void test('topic tree: the history is a ring of the last historyLength samples, oldest first', () => {
  const clock = fakeClock();
  const tree = new TopicTree({ historyLength: 3, sampleEveryMs: 0, now: clock.now });
  for (let i = 1; i <= 7; i++) {
    tree.record('s', Buffer.from(String(i)), 0, false);
    tree.settle();
    clock.advance(10);
  }
  const history = tree.detail('s')!.history;
  assert.deepEqual(history.map((h) => text(h.payload)), ['5', '6', '7']);
  assert.deepEqual(history.map((h) => h.at), [1_000_040, 1_000_050, 1_000_060]);
});

void test('topic tree: a busy topic keeps at most one history sample per sampleEveryMs', () => {
  const clock = fakeClock();
  const tree = new TopicTree({ sampleEveryMs: 500, now: clock.now });
  for (let i = 0; i < 20; i++) {
    tree.record('busy', Buffer.from(String(i)), 0, false);
    tree.settle();
    clock.advance(100);
  }
  assert.deepEqual(tree.detail('busy')!.history.map((h) => text(h.payload)), ['0', '5', '10', '15']);
  assert.equal(text(tree.detail('busy')!.payload), '19', 'the last value is always the last one');
});

void test('topic tree: the rate converges to messages per second and decays to zero when the topic goes quiet', () => {
  const clock = fakeClock();
  const tree = new TopicTree({ now: clock.now, rateWindowMs: 10_000 });
  for (let i = 0; i < 600; i++) {
    tree.record('r', Buffer.from('1'), 0, false);
    clock.advance(100); // 10 messages per second for 60 s
    if (i % 5 === 4) tree.settle(); // every 500 ms, as the feed's timer
  }
  const steady = tree.detail('r')!.rate;
  assert.ok(Math.abs(steady - 10) < 0.6, `about 10 msg/s, got ${steady}`);
  clock.advance(60_000);
  const quiet = tree.detail('r')!.rate;
  assert.ok(quiet < 0.05, `a quiet minute later about 0, got ${quiet}`);
});

void test('topic tree: children lists one level, sorted and paged, with topic counts below each; empty levels are levels', () => {
  const tree = new TopicTree();
  for (const topic of ['b/x', 'a/1', 'a/2/deep', 'a', '/lead', 'c']) tree.record(topic, Buffer.from('v'), 0, false);
  const root = tree.children(undefined)!;
  assert.deepEqual(root.children.map((c) => [c.name, c.topic, c.topics, c.hasValue]), [
    ['', '', 1, false],
    ['a', 'a', 3, true],
    ['b', 'b', 1, false],
    ['c', 'c', 1, true],
  ]);
  assert.equal(root.total, 4);
  const a = tree.children('a')!;
  assert.deepEqual(a.children.map((c) => c.topic), ['a/1', 'a/2']);
  assert.deepEqual(tree.children('', 0, 10)!.children.map((c) => c.topic), ['/lead']);
  assert.deepEqual(tree.children(undefined, 1, 2)!.children.map((c) => c.name), ['a', 'b'], 'paging');
  assert.equal(tree.children('nope'), undefined);
  assert.deepEqual(tree.search('A/'), ['a/1', 'a/2/deep']);
});

void test('topic tree: at maxTopics a new topic evicts one not published to since the last pass (CLOCK), and empty levels are pruned', () => {
  const tree = new TopicTree({ maxTopics: 3 });
  tree.record('old/one', Buffer.from('1'), 0, false);
  tree.record('hot', Buffer.from('1'), 0, false);
  tree.record('x/y', Buffer.from('1'), 0, false);
  tree.record('old/one', Buffer.from('2'), 0, false); // touched: gets a second chance
  tree.record('new', Buffer.from('1'), 0, false);
  assert.equal(tree.size, 3);
  assert.ok(tree.detail('old/one'), 'the recently published topic is kept');
  assert.equal(tree.detail('hot'), undefined, 'the oldest untouched topic is evicted');
  assert.deepEqual(tree.stats(), { topics: 3, maxTopics: 3, evicted: 1, messages: 5 });
  tree.record('other', Buffer.from('1'), 0, false);
  tree.record('third', Buffer.from('1'), 0, false);
  assert.equal(tree.size, 3);
  assert.equal(tree.children('old'), undefined, 'old/one evicted after its second chance; level old pruned');
  assert.equal(tree.children('x'), undefined);
  const names = tree.children(undefined)!.children.map((c) => c.name);
  assert.deepEqual(names, ['new', 'other', 'third']);
  assert.equal(names.length, tree.size);
});

void test('topic tree: a flood of distinct topics stays within maxTopics and the trie counts stay exact', () => {
  const tree = new TopicTree({ maxTopics: 100 });
  for (let i = 0; i < 5000; i++) tree.record(`f/${i % 7}/${i}`, Buffer.from('x'), 0, false);
  assert.equal(tree.size, 100);
  const f = tree.children(undefined)!.children[0]!;
  assert.equal(f.topics, 100);
  const perLevel = tree.children('f')!.children.reduce((sum, c) => sum + c.topics, 0);
  assert.equal(perLevel, 100);
});

void test('topic tree: bad limits are refused with the option named', () => {
  assert.throws(() => new TopicTree({ maxTopics: 0 }), /maxTopics must be a positive integer/);
  assert.throws(() => new TopicTree({ historyLength: 1.5 }), /historyLength/);
});
