/**
 * SubscriptionIndex: the subscription store of the router, after the NATS server's sublist
 * (`server/sublist.go`), with MQTT's matching rules.
 *
 * Layout
 * - Literal filters (no `+` or `#` level) live in `literals`, a Map from the filter to its bucket.
 *   A literal filter matches exactly one topic, itself, so it costs one hash lookup per publish.
 * - Wildcard filters live in a trie with one node per filter level. A node holds a Map of literal
 *   children, an explicit `plus` child, the `hash` bucket of the filter `<path>/#` (`#` is always
 *   the last level, so it needs no node of its own), and the `bucket` of filters ending there.
 * - A bucket is a Map from key (the subscriber) to value: one entry per (filter, key), so a
 *   re-subscribe replaces the entry [MQTT-3.8.4-3].
 *
 * Matching a topic of L levels: look the topic up in `literals`, then walk the trie level by level
 * keeping the frontier of nodes whose filter prefix matches the topic prefix. From each frontier
 * node a level goes to at most two nodes (the literal child and `plus`), and each trie node is
 * reached at most once, so no filter is reported twice. `+` matches one level even if empty
 * [MQTT-4.7.1-3]. Every node reached (and the root) reports its `hash` bucket, because `#` matches
 * any number of further levels including none, the parent [MQTT-4.7.1-2]. For a topic starting
 * with `$` the root's `plus` and `hash` are skipped [MQTT-4.7.2-1]. The walk is iterative and
 * costs O(L + frontier sizes + result), independent of the number of subscriptions that do not
 * match; nothing recurses, so a topic of 10,000 levels is fine.
 *
 * Result cache: topic -> result array, at most `cacheSize` topics (default 1,024), evicting the
 * oldest insertion first. A hit costs one Map lookup and moves nothing; insertion order is kept
 * in `cacheOrder`, a ring of topics, because taking the oldest key from a Map iterator costs
 * about four times as much per miss (measured). Results are shared and never mutated after being
 * returned; a change replaces them by dropping the entry.
 * Invalidation, chosen for cheap writes:
 * - a change to a literal filter F can only change the result of topic F: drop that entry, O(1);
 * - a change to a wildcard filter clears the whole cache, O(1) at the change. The cost is paid
 *   later and only by traffic: each cached topic published again misses once (one trie walk, the
 *   same O(L) as an uncached match). Precise invalidation would instead test the filter against
 *   every cached topic on every change (up to 1,024 matches per subscribe or unsubscribe), which
 *   a connect storm of wildcard subscribers pays in full. Under constant wildcard churn the hit
 *   rate drops, but matching stays O(L).
 * A working set larger than the cache makes every match a miss that also inserts and evicts:
 * bench/topics.ts measured about 1.0M matches/s then, against 2.0M with the cache off and 50M
 * for hits (10,000 mixed filters), so a deployment with a very wide topic space may set
 * `cacheSize: 0` (the extra cost is mostly garbage collection of results that outlive a young
 * generation). The cache's memory is bounded too: topics longer than MAX_CACHED_TOPIC_LENGTH and
 * results larger than MAX_CACHED_RESULT are not cached (building a big result costs the same
 * order as delivering it, so caching it saves little).
 *
 * Invariants
 * 1. A filter with a `+` or `#` level is only in the trie; any other filter only in `literals`.
 * 2. Every stored bucket is non-empty; `filterCount` is the number of buckets and `size` the sum
 *    of their sizes.
 * 3. Every trie node other than the root has a bucket, a `hash` bucket, a `plus` child or a
 *    literal child; `children` is undefined rather than empty. Removing prunes the nodes that
 *    become empty, so memory follows the live subscriptions, not their history.
 * 4. For every cached topic T, cache(T) holds the same values as an uncached match(T).
 * 5. Every cached topic is in the ring slot written when it was cached, so the cache never holds
 *    more topics than the ring has slots. A slot may name a topic since dropped or re-cached
 *    elsewhere; overwriting it then deletes nothing, or evicts that topic early: never wrong.
 */
import { MULTI_LEVEL, SEPARATOR, SINGLE_LEVEL, isDollarTopic, isWildcardFilter, splitLevels } from './levels.js';

export const DEFAULT_CACHE_SIZE = 1024;
/** Longer topics are matched but not cached, so the cache holds at most ~1 MiB of topic text. */
export const MAX_CACHED_TOPIC_LENGTH = 1024;
/** Larger results are built per match and not cached, bounding the cache's arrays. */
export const MAX_CACHED_RESULT = 1024;

export interface SubscriptionIndexOptions {
  /** Most topics whose result is cached; 0 disables the cache. Default 1,024. */
  cacheSize?: number;
}

type Bucket<K, V> = Map<K, V>;

const EMPTY: readonly never[] = Object.freeze([]);

class TrieNode<K, V> {
  children: Map<string, TrieNode<K, V>> | undefined = undefined;
  plus: TrieNode<K, V> | undefined = undefined;
  hash: Bucket<K, V> | undefined = undefined;
  bucket: Bucket<K, V> | undefined = undefined;

  isEmpty(): boolean {
    return this.bucket === undefined && this.hash === undefined && this.plus === undefined && this.children === undefined;
  }

  hasDescendants(): boolean {
    return this.children !== undefined || this.plus !== undefined;
  }
}

/** Where a wildcard filter's bucket lives: the node of its levels (without a trailing `#`). */
interface FilterPath {
  readonly levels: string[];
  readonly depth: number;
  readonly hashTail: boolean;
}

function filterPath(filter: string): FilterPath {
  const levels = splitLevels(filter);
  const hashTail = levels[levels.length - 1] === MULTI_LEVEL;
  return { levels, depth: hashTail ? levels.length - 1 : levels.length, hashTail };
}

export class SubscriptionIndex<K, V> {
  private readonly literals = new Map<string, Bucket<K, V>>();
  private readonly root = new TrieNode<K, V>();
  private readonly cache = new Map<string, readonly V[]>();
  private readonly cacheLimit: number;
  private readonly cacheOrder: string[] = [];
  private cacheCursor = 0; // the ring slot to overwrite next, once the ring is full
  private entries = 0;
  private buckets = 0;
  private wildcardBuckets = 0;
  private nodes = 0;
  // Scratch space reused by match (not re-entrant: match calls no user code).
  private frontier: TrieNode<K, V>[] = [];
  private nextFrontier: TrieNode<K, V>[] = [];
  private readonly matched: Bucket<K, V>[] = [];

  constructor(options: SubscriptionIndexOptions = {}) {
    this.cacheLimit = Math.max(0, Math.floor(options.cacheSize ?? DEFAULT_CACHE_SIZE));
  }

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.entries;
  }

  /** Number of distinct filters with at least one entry. */
  get filterCount(): number {
    return this.buckets;
  }

  /** Trie nodes besides the root (0 when no wildcard filter is stored). For tests and metrics. */
  get nodeCount(): number {
    return this.nodes;
  }

  /** Topics currently cached (at most the cache size). For tests and metrics. */
  get cachedTopicCount(): number {
    return this.cache.size;
  }

  /** Add or replace the entry of `key` under `filter` [MQTT-3.8.4-3]. True when it is new. */
  add(filter: string, key: K, value: V): boolean {
    let bucket: Bucket<K, V> | undefined;
    if (!isWildcardFilter(filter)) {
      bucket = this.literals.get(filter);
      if (bucket === undefined) {
        bucket = new Map();
        this.literals.set(filter, bucket);
        this.buckets++;
      }
      this.cache.delete(filter); // a literal filter matches only the topic equal to it
    } else {
      const path = filterPath(filter);
      const node = this.locate(path, true);
      bucket = path.hashTail ? node.hash : node.bucket;
      if (bucket === undefined) {
        bucket = new Map();
        if (path.hashTail) node.hash = bucket;
        else node.bucket = bucket;
        this.buckets++;
        this.wildcardBuckets++;
      }
      this.clearCache();
    }
    const isNew = !bucket.has(key);
    bucket.set(key, value);
    if (isNew) this.entries++;
    return isNew;
  }

  /** Remove the entry of `key` under `filter`. True when there was one. */
  remove(filter: string, key: K): boolean {
    if (!isWildcardFilter(filter)) {
      const bucket = this.literals.get(filter);
      if (bucket === undefined || !bucket.delete(key)) return false;
      this.entries--;
      this.cache.delete(filter);
      if (bucket.size === 0) {
        this.literals.delete(filter);
        this.buckets--;
      }
      return true;
    }
    const path = filterPath(filter);
    const nodes: TrieNode<K, V>[] = [];
    const node = this.locate(path, false, nodes);
    const bucket = node === undefined ? undefined : path.hashTail ? node.hash : node.bucket;
    if (node === undefined || bucket === undefined || !bucket.delete(key)) return false;
    this.entries--;
    this.clearCache();
    if (bucket.size === 0) {
      if (path.hashTail) node.hash = undefined;
      else node.bucket = undefined;
      this.buckets--;
      this.wildcardBuckets--;
      this.prune(nodes, path.levels);
    }
    return true;
  }

  /** The value stored for `key` under `filter`, if any. */
  get(filter: string, key: K): V | undefined {
    if (!isWildcardFilter(filter)) return this.literals.get(filter)?.get(key);
    const path = filterPath(filter);
    const node = this.locate(path, false);
    if (node === undefined) return undefined;
    return (path.hashTail ? node.hash : node.bucket)?.get(key);
  }

  /**
   * Every value whose filter matches `topic` (one per matching (filter, key) entry). The array
   * may be shared with the cache and with other callers: do not mutate it.
   */
  match(topic: string): readonly V[] {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const matched = this.matched;
    const literal = this.literals.get(topic);
    if (literal !== undefined) matched.push(literal);
    if (this.wildcardBuckets > 0) this.collectWildcards(topic, matched);
    const result = flatten(matched);
    matched.length = 0;
    this.remember(topic, result);
    return result;
  }

  private collectWildcards(topic: string, out: Bucket<K, V>[]): void {
    const root = this.root;
    const dollar = isDollarTopic(topic);
    // [MQTT-4.7.1-2] '#' matches every topic; [MQTT-4.7.2-1] but not one starting with '$'.
    if (!dollar && root.hash !== undefined) out.push(root.hash);
    if (!root.hasDescendants()) return;
    let current = this.frontier;
    let next = this.nextFrontier;
    current.push(root);
    const length = topic.length;
    let start = 0;
    let first = true;
    while (true) {
      let end = topic.indexOf(SEPARATOR, start);
      if (end < 0) end = length;
      const last = end === length;
      const level = topic.slice(start, end);
      for (let i = 0; i < current.length; i++) {
        const node = current[i] as TrieNode<K, V>;
        const literal = node.children?.get(level);
        if (literal !== undefined) reach(literal, last, next, out);
        // [MQTT-4.7.1-3] '+' matches exactly one level, even an empty one;
        // [MQTT-4.7.2-1] but a first-level '+' does not match a topic starting with '$'.
        if (node.plus !== undefined && !(first && dollar)) reach(node.plus, last, next, out);
      }
      current.length = 0;
      if (last || next.length === 0) break;
      const swap = current;
      current = next;
      next = swap;
      start = end + 1;
      first = false;
    }
    next.length = 0;
  }

  private remember(topic: string, result: readonly V[]): void {
    if (this.cacheLimit === 0 || topic.length > MAX_CACHED_TOPIC_LENGTH || result.length > MAX_CACHED_RESULT) return;
    const ring = this.cacheOrder;
    if (ring.length < this.cacheLimit) {
      ring.push(topic);
    } else {
      this.cache.delete(ring[this.cacheCursor] as string);
      ring[this.cacheCursor] = topic;
      this.cacheCursor = this.cacheCursor + 1 === this.cacheLimit ? 0 : this.cacheCursor + 1;
    }
    this.cache.set(topic, result);
  }

  private clearCache(): void {
    if (this.cacheOrder.length === 0) return;
    this.cache.clear();
    this.cacheOrder.length = 0;
    this.cacheCursor = 0;
  }

  /** The node at `path.depth`, created on the way if `create`; `nodes` receives the path. */
  private locate(path: FilterPath, create: true): TrieNode<K, V>;
  private locate(path: FilterPath, create: false, nodes?: TrieNode<K, V>[]): TrieNode<K, V> | undefined;
  private locate(path: FilterPath, create: boolean, nodes?: TrieNode<K, V>[]): TrieNode<K, V> | undefined {
    let node = this.root;
    nodes?.push(node);
    for (let i = 0; i < path.depth; i++) {
      const level = path.levels[i] as string;
      let child = level === SINGLE_LEVEL ? node.plus : node.children?.get(level);
      if (child === undefined) {
        if (!create) return undefined;
        child = new TrieNode<K, V>();
        this.nodes++;
        if (level === SINGLE_LEVEL) node.plus = child;
        else (node.children ??= new Map()).set(level, child);
      }
      node = child;
      nodes?.push(node);
    }
    return node;
  }

  /** Detach the empty nodes at the end of `nodes` (root first; nodes[i + 1] is levels[i]). */
  private prune(nodes: TrieNode<K, V>[], levels: string[]): void {
    for (let i = nodes.length - 1; i > 0; i--) {
      const node = nodes[i] as TrieNode<K, V>;
      if (!node.isEmpty()) return;
      const parent = nodes[i - 1] as TrieNode<K, V>;
      const level = levels[i - 1] as string;
      if (level === SINGLE_LEVEL) {
        parent.plus = undefined;
      } else if (parent.children !== undefined) {
        parent.children.delete(level);
        if (parent.children.size === 0) parent.children = undefined;
      }
      this.nodes--;
    }
  }
}

/** Record a node the walk reached: its `#` bucket matches now; its own bucket if the topic ends. */
function reach<K, V>(node: TrieNode<K, V>, last: boolean, next: TrieNode<K, V>[], out: Bucket<K, V>[]): void {
  // [MQTT-4.7.1-2] 'x/#' matches the remaining levels, or none ('x' itself, the parent).
  if (node.hash !== undefined) out.push(node.hash);
  if (last) {
    if (node.bucket !== undefined) out.push(node.bucket);
  } else if (node.hasDescendants()) {
    next.push(node);
  }
}

function flatten<K, V>(buckets: Bucket<K, V>[]): readonly V[] {
  if (buckets.length === 0) return EMPTY;
  const out: V[] = [];
  for (let i = 0; i < buckets.length; i++) {
    for (const value of (buckets[i] as Bucket<K, V>).values()) out.push(value);
  }
  return out;
}
