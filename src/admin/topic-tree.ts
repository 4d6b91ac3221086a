/**
 * The dashboard's topic tree, built on the server from the broker's message events, so a browser
 * never subscribes to `#`: per topic its last value, message count and rate, and a short history
 * of small payloads that look like JSON (the dashboard charts a numeric field of them).
 *
 * Bounds (everything here is attacker-fed: any client picks topics and payloads):
 * - at most `maxTopics` topics; a new topic past it evicts one that was not published to since
 *   the last eviction pass (CLOCK, the second-chance approximation of least recently used: a
 *   publish only sets a flag, no reordering on the hot path);
 * - the last value is a copy of at most `maxValueBytes` bytes (never a view into the socket's
 *   chunk, which would pin the whole chunk), with the original size;
 * - the history keeps the last `historyLength` payloads of at most `maxSampleBytes` bytes that
 *   start like JSON (`{`, `[`, a digit or `-`), at most one per `sampleEveryMs` (500 ms), each
 *   the topic's last value at a settle.
 * So memory is bounded by maxTopics x (maxValueBytes + historyLength x maxSampleBytes) plus the
 * topic strings (at most maxTopics x the broker's packet size bound).
 *
 * The hot path (`record`, once per message) only counts and keeps a reference to the payload;
 * `settle()`, every `settleEveryMs` (500 ms) from the feed's timer and before any read, copies the
 * last payload of each topic that changed, takes its history sample and updates its rate. So a
 * busy topic costs no copy per message, and a payload view pins its socket chunk for at most
 * half a second (memory bounded by the input of that half second).
 *
 * Rate: an exponentially weighted moving average of messages per second (time constant
 * `rateWindowMs`), updated at each settle from the count since the previous one and decayed when
 * read, so a topic that went quiet shows its rate falling to zero.
 *
 * Browsing: topics are also kept in a trie of levels (`a/b/c` -> a -> b -> c; an empty level is a
 * level named ''), each node counting the topics below it; evicting a topic prunes empty nodes.
 */

export interface TopicTreeOptions {
  maxTopics?: number;
  maxValueBytes?: number;
  historyLength?: number;
  maxSampleBytes?: number;
  rateWindowMs?: number;
  /** At most one history sample per topic in this many ms. */
  sampleEveryMs?: number;
  /** Period of settle() when fed by feedTopicTree. */
  settleEveryMs?: number;
  /** The clock (ms); tests pass a fake one. */
  now?: () => number;
}

interface Sample {
  at: number;
  payload: Buffer;
}

interface TopicEntry {
  readonly topic: string;
  readonly node: TopicNode;
  /** A copy of the last payload's first `valueLength` bytes; reused while it is big enough. */
  value: Buffer;
  valueLength: number;
  /** Size of the last payload as published. */
  size: number;
  qos: number;
  retain: boolean;
  count: number;
  firstAt: number;
  lastAt: number;
  /** The last payload, not yet copied into `value` (a view into the socket's chunk). */
  pending: Buffer | undefined;
  /** In the list of entries to settle. */
  dirty: boolean;
  /** EWMA of messages per second at `rateAt`, and the count it had seen. */
  rate: number;
  rateAt: number;
  rateCount: number;
  /** Published to since the last eviction pass looked at it (CLOCK's reference bit). */
  touched: boolean;
  samples: Sample[];
  nextSample: number;
}

class TopicNode {
  /** Created with the first child (most nodes are leaves). */
  children: Map<string, TopicNode> | undefined;
  entry: TopicEntry | undefined;
  /** Topics with an entry at or below this node. */
  topics = 0;

  constructor(
    readonly name: string,
    readonly parent: TopicNode | undefined,
  ) {}
}

/** One child level in a listing. */
export interface TopicChild {
  name: string;
  /** The full topic of this level (levels joined with `/`). */
  topic: string;
  /** Topics at or below this level. */
  topics: number;
  /** Whether a message was published to exactly this topic. */
  hasValue: boolean;
  count: number;
  rate: number;
  lastAt: number;
}

export interface TopicDetail {
  topic: string;
  /** The last payload (its first maxValueBytes bytes), base64. */
  payload: string;
  size: number;
  truncated: boolean;
  qos: number;
  retain: boolean;
  count: number;
  rate: number;
  firstAt: number;
  lastAt: number;
  /** Recent small JSON-like payloads, oldest first, base64. */
  history: Array<{ at: number; payload: string }>;
}

export interface TopicTreeStats {
  topics: number;
  maxTopics: number;
  evicted: number;
  messages: number;
}

const JSON_START = new Set([0x7b, 0x5b, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);

export class TopicTree {
  readonly maxTopics: number;
  private readonly maxValueBytes: number;
  private readonly historyLength: number;
  private readonly maxSampleBytes: number;
  private readonly rateWindowMs: number;
  private readonly sampleEveryMs: number;
  readonly settleEveryMs: number;
  private readonly now: () => number;
  /** Entries with messages since the last settle. */
  private dirty: TopicEntry[] = [];
  /** Every topic by name. */
  private readonly entries = new Map<string, TopicEntry>();
  /** The same entries in CLOCK's circle of slots, and its hand. */
  private readonly slots: TopicEntry[] = [];
  private hand = 0;
  private readonly root = new TopicNode('', undefined);
  private evicted = 0;
  private messages = 0;

  constructor(options: TopicTreeOptions = {}) {
    this.maxTopics = positive(options.maxTopics ?? 5000, 'maxTopics');
    this.maxValueBytes = positive(options.maxValueBytes ?? 2048, 'maxValueBytes');
    this.historyLength = positive(options.historyLength ?? 30, 'historyLength');
    this.maxSampleBytes = positive(options.maxSampleBytes ?? 256, 'maxSampleBytes');
    this.rateWindowMs = positive(options.rateWindowMs ?? 10_000, 'rateWindowMs');
    this.sampleEveryMs = options.sampleEveryMs ?? 500;
    if (!(this.sampleEveryMs >= 0)) throw new RangeError(`topic tree: sampleEveryMs must be >= 0, got ${this.sampleEveryMs}`);
    this.settleEveryMs = positive(options.settleEveryMs ?? 500, 'settleEveryMs');
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A message was accepted for routing (the broker's `message` event): count it, keep a reference. */
  record(topic: string, payload: Buffer, qos: number, retain: boolean): void {
    const now = this.now();
    this.messages++;
    let entry = this.entries.get(topic);
    if (entry === undefined) entry = this.add(topic, now);
    else entry.touched = true; // a second chance at the next eviction pass
    entry.count++;
    entry.lastAt = now;
    entry.qos = qos;
    entry.retain = retain;
    entry.pending = payload;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
  }

  /** Copy the last payloads, take history samples, update rates (the feed's timer; reads call it first). */
  settle(): void {
    const now = this.now();
    const dirty = this.dirty;
    this.dirty = [];
    for (const entry of dirty) {
      entry.dirty = false;
      if (this.entries.get(entry.topic) !== entry) continue; // evicted since
      this.settleValue(entry);
      this.settleRate(entry, now);
    }
  }

  /** The children of a level (`path` undefined: the root), sorted by name, paged. */
  children(path: string | undefined, offset = 0, limit = 100): { total: number; children: TopicChild[] } | undefined {
    this.settle();
    const node = path === undefined ? this.root : this.find(path);
    if (node === undefined) return undefined;
    const names = node.children === undefined ? [] : [...node.children.keys()].sort();
    const now = this.now();
    const children = names.slice(offset, offset + limit).map((name) => {
      const child = node.children?.get(name) as TopicNode;
      const entry = child.entry;
      return {
        name,
        topic: path === undefined ? name : `${path}/${name}`,
        topics: child.topics,
        hasValue: entry !== undefined,
        count: entry?.count ?? 0,
        rate: entry === undefined ? 0 : this.decayed(entry, now),
        lastAt: entry?.lastAt ?? 0,
      };
    });
    return { total: names.length, children };
  }

  /** One topic's last value, counters and history; undefined if it is not (or no longer) kept. */
  detail(topic: string): TopicDetail | undefined {
    this.settle();
    const entry = this.entries.get(topic);
    if (entry === undefined) return undefined;
    const ring = entry.samples;
    const ordered = ring.length < this.historyLength ? ring : [...ring.slice(entry.nextSample), ...ring.slice(0, entry.nextSample)];
    return {
      topic,
      payload: entry.value.subarray(0, entry.valueLength).toString('base64'),
      size: entry.size,
      truncated: entry.size > entry.valueLength,
      qos: entry.qos,
      retain: entry.retain,
      count: entry.count,
      rate: this.decayed(entry, this.now()),
      firstAt: entry.firstAt,
      lastAt: entry.lastAt,
      history: ordered.map((s) => ({ at: s.at, payload: s.payload.toString('base64') })),
    };
  }

  /** Topics containing `text` (case-insensitive), in name order, at most `limit`. */
  search(text: string, limit = 100): string[] {
    const needle = text.toLowerCase();
    const found: string[] = [];
    for (const topic of this.entries.keys()) if (topic.toLowerCase().includes(needle)) found.push(topic);
    return found.sort().slice(0, limit);
  }

  stats(): TopicTreeStats {
    return { topics: this.entries.size, maxTopics: this.maxTopics, evicted: this.evicted, messages: this.messages };
  }

  private add(topic: string, now: number): TopicEntry {
    const slot = this.entries.size >= this.maxTopics ? this.evictOne() : this.slots.length;
    const levels = topic.split('/');
    let node = this.root;
    for (const level of levels) {
      let child = node.children?.get(level);
      if (child === undefined) {
        child = new TopicNode(level, node);
        (node.children ??= new Map()).set(level, child);
      }
      node = child;
    }
    const entry: TopicEntry = {
      topic,
      node,
      value: EMPTY,
      valueLength: 0,
      size: 0,
      qos: 0,
      retain: false,
      count: 0,
      firstAt: now,
      lastAt: now,
      pending: undefined,
      dirty: false,
      rate: 0,
      rateAt: now,
      rateCount: 0,
      touched: false,
      samples: [],
      nextSample: 0,
    };
    node.entry = entry;
    for (let n: TopicNode | undefined = node; n !== undefined; n = n.parent) n.topics++;
    this.entries.set(topic, entry);
    this.slots[slot] = entry;
    return entry;
  }

  /**
   * CLOCK: the hand walks the slots in a circle; a touched entry loses its flag and is passed,
   * the first untouched one is evicted and its slot given to the new topic. At most one round
   * plus one step (after a round every flag is clear).
   */
  private evictOne(): number {
    const slots = this.slots;
    for (;;) {
      const slot = this.hand;
      this.hand = (slot + 1) % slots.length;
      const entry = slots[slot] as TopicEntry;
      if (entry.touched) {
        entry.touched = false;
        continue;
      }
      this.entries.delete(entry.topic);
      this.unlink(entry);
      this.evicted++;
      return slot;
    }
  }

  private unlink(entry: TopicEntry): void {
    let node: TopicNode = entry.node;
    node.entry = undefined;
    for (let n: TopicNode | undefined = node; n !== undefined; n = n.parent) n.topics--;
    while (node.parent !== undefined && node.topics === 0) {
      node.parent.children?.delete(node.name);
      node = node.parent;
    }
  }

  private find(path: string): TopicNode | undefined {
    let node: TopicNode | undefined = this.root;
    for (const level of path.split('/')) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node;
  }

  private decayed(entry: TopicEntry, now: number): number {
    return entry.rate * Math.exp(-Math.max(0, now - entry.rateAt) / this.rateWindowMs);
  }

  /** The EWMA over the time since the last update, whose mean rate is the count since then over that time. */
  private settleRate(entry: TopicEntry, now: number): void {
    const elapsed = now - entry.rateAt;
    if (elapsed <= 0) return;
    const keep = Math.exp(-elapsed / this.rateWindowMs);
    const mean = ((entry.count - entry.rateCount) * 1000) / elapsed;
    entry.rate = entry.rate * keep + mean * (1 - keep);
    entry.rateAt = now;
    entry.rateCount = entry.count;
  }

  private settleValue(entry: TopicEntry): void {
    const payload = entry.pending;
    if (payload === undefined) return;
    entry.pending = undefined;
    const length = Math.min(payload.length, this.maxValueBytes);
    // Own memory (allocUnsafeSlow), never a slice of Node's shared 8 KiB pool, which one small
    // value kept for hours would pin whole.
    if (entry.value.length < length) entry.value = Buffer.allocUnsafeSlow(length);
    payload.copy(entry.value, 0, 0, length);
    entry.valueLength = length;
    entry.size = payload.length;
    this.keepSample(entry, payload, entry.lastAt);
  }

  private keepSample(entry: TopicEntry, payload: Buffer, at: number): void {
    const last = entry.samples.length === 0 ? undefined : entry.samples[(entry.nextSample + entry.samples.length - 1) % entry.samples.length];
    if (last !== undefined && at - last.at < this.sampleEveryMs) return;
    if (payload.length === 0 || payload.length > this.maxSampleBytes || !JSON_START.has(payload[0] as number)) return;
    const copy = Buffer.allocUnsafeSlow(payload.length);
    payload.copy(copy);
    const sample = { at, payload: copy };
    if (entry.samples.length < this.historyLength) {
      entry.samples.push(sample);
      return;
    }
    entry.samples[entry.nextSample] = sample;
    entry.nextSample = (entry.nextSample + 1) % this.historyLength;
  }
}

const EMPTY = Buffer.alloc(0);

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`topic tree: ${name} must be a positive integer, got ${value}`);
  return value;
}

type MessageListener = (topic: string, payload: Buffer, qos: number, retain: boolean) => void;

/** Feed a tree from the broker's messages (`watch` subscribes a listener and returns its stop) and settle it every settleEveryMs; returns the function that stops both. */
export function feedTopicTree(watch: (listener: MessageListener) => () => void, tree: TopicTree): () => void {
  const unwatch = watch((topic, payload, qos, retain) => tree.record(topic, payload, qos, retain));
  const timer = setInterval(() => tree.settle(), tree.settleEveryMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    unwatch();
  };
}
