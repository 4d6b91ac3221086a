/**
 * Micro benchmark of src/topics (not run by the tests):
 *   node --import tsx bench/topics.ts
 * 10,000 subscribers with distinct mixed filters (literal, '+', '#'), then match() throughput
 * over a working set of topics that fits the cache, one that does not, and with the cache off;
 * plus retained lookups for a wildcard filter among 10,000 retained topics.
 */
import { RetainedTree, SubscriptionIndex } from '../src/topics/index.js';

const SUBSCRIBERS = 10_000;

function filterFor(i: number): string {
  const site = `site${i % 50}`;
  const device = `dev${i}`;
  switch (i % 5) {
    case 0: return `${site}/${device}/temp`;
    case 1: return `${site}/+/temp/${i}`;
    case 2: return `${site}/${device}/#`;
    case 3: return `+/${device}/status`;
    default: return `${site}/${device}/+`;
  }
}

function topicFor(i: number): string {
  const device = (i * 7919) % SUBSCRIBERS; // device d belongs to site d % 50, as in filterFor
  return `site${device % 50}/dev${device}/${i % 2 === 0 ? 'temp' : 'status'}`;
}

function build(cacheSize: number): SubscriptionIndex<number, number> {
  const index = new SubscriptionIndex<number, number>({ cacheSize });
  for (let i = 0; i < SUBSCRIBERS; i++) index.add(filterFor(i), i, i);
  return index;
}

function run(name: string, index: SubscriptionIndex<number, number>, topics: string[], ops: number): void {
  let matched = 0;
  for (let i = 0; i < 10_000; i++) matched += index.match(topics[i % topics.length] as string).length; // warm up
  matched = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) matched += index.match(topics[i % topics.length] as string).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(42)} ${Math.round(ops / seconds).toLocaleString('en').padStart(12)} match/s  (${(matched / ops).toFixed(2)} values/match)`);
}

const hot = Array.from({ length: 500 }, (_, i) => topicFor(i));
const cold = Array.from({ length: 20_000 }, (_, i) => topicFor(i));
const OPS = 1_000_000;

const start = process.hrtime.bigint();
const cached = build(1024);
console.log(`built ${cached.size} subscriptions, ${cached.filterCount} filters, ${cached.nodeCount} trie nodes in ${Number(process.hrtime.bigint() - start) / 1e6} ms`);
run('match, 500 hot topics (cache hits)', cached, hot, OPS);
run('match, 20,000 topics (cache thrashing)', cached, cold, OPS);
run('match, 20,000 topics, cache off', build(0), cold, OPS);

const tree = new RetainedTree<number>();
for (let i = 0; i < SUBSCRIBERS; i++) tree.set(topicFor(i), i);
const filters = ['site7/+/status', 'site7/#', '+/dev47/+', 'site7/dev7/status'];
for (const filter of filters) {
  const n = 20_000;
  let found = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) found += tree.match(filter).length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`retained match '${filter}'`.padEnd(42), `${Math.round(n / seconds).toLocaleString('en').padStart(12)} match/s  (${found / n} values)`);
}
