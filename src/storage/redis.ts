/**
 * Redis storage (ioredis): the store of persistent sessions in cluster mode (issue 15), behind
 * the same Storage interface as SQLite and passing the same suite (test/storage/storage.test.ts).
 * Not wired into the configuration yet.
 *
 * Key layout. Every key starts with the prefix (default `cicada:`), so several brokers or tests
 * share one Redis. `<prefix>format` holds the layout's version (FORMAT_VERSION). Each table is
 * ONE sorted set, `<prefix><table>`, whose scores are all 0, so Redis orders its members
 * byte-wise (ZRANGEBYLEX). A member is the row's key fields, each followed by a NUL byte, then
 * the rest of the row as JSON, then, for messages and wills, a NUL byte and the payload bytes:
 *
 *   messages       id (16 digits) NUL [topic, qos, retain, properties, origin, expiresAt] NUL payload
 *   retained       topic NUL [messageId]
 *   sessions       clientId NUL [expiryInterval, disconnectedAt, username, listener]
 *   subscriptions  clientId NUL rawFilter NUL [qos, noLocal, retainAsPublished, retainHandling, subscriptionId]
 *   deliveries     clientId NUL seq (16 digits) NUL [messageId, qos, retain, subscriptionIds, packetId, state]
 *   incoming       clientId NUL packetId (5 digits) NUL
 *   wills          clientId NUL [topic, qos, retain, properties, publishAt] NUL payload
 *
 * MQTT strings never hold U+0000 [MQTT-1.5.4-2] and JSON escapes it, so the first NULs end the
 * key fields: the rows of key K are exactly the members in [K NUL, K \x01), which one
 * ZREMRANGEBYLEX deletes without reading them first, and the rows of a client (deleteSession)
 * those in [clientId NUL, clientId \x01). Zero-padded numbers sort as numbers, so load() reads
 * messages in ascending id and deliveries in (clientId, seq) order with no SCAN and no sort:
 * ZRANGEBYLEX pages of LOAD_PAGE members, each page continuing after the last member read. A
 * restored payload is a view into ioredis's reply chunk (64 KiB, shared by the rows of a page),
 * as a received payload is a view into its read chunk: not copied.
 *
 * Writes: the pending batch is kept per row (BatchedStorage: the last write wins, a row created
 * and deleted in one batch is never written). commit() turns it at once into the batch's
 * commands: per table, one ZREMRANGEBYLEX per deleted row, per old version of a row put again
 * (not for a created one) and per deleted session, all run by one EVAL of REMOVE_RANGES (or the
 * ZREMRANGEBYLEX itself when there is one), then one ZADD adds every row put in the batch: at
 * most 16 commands a batch, whatever its size. The commands go as ONE pipelined MULTI/EXEC, sent only
 * when the previous commit has settled, so batches apply strictly in order and a batch after a
 * failed one is never sent. A batch Redis refuses (out of memory, a read-only replica, a failed
 * disk: errors at queueing, EXECABORT) applies nothing; an error while EXEC runs (only when a
 * key of ours was overwritten with another type) leaves the batch's other commands applied, and
 * either way the store is broken and the broker stops. A command sent on a connection that
 * breaks is not resent (its outcome is unknown): it fails.
 *
 * Durability: `durable` is read from Redis at open: INFO persistence's `aof_enabled:1`
 * (appendonly yes). Redis writes the AOF before it answers EXEC, so a resolved commit survives
 * a crash (SIGKILL) of Redis, and with `appendfsync always` a power cut. Without AOF (RDB
 * snapshots only) a resolved commit can be lost, so the store says it is not durable.
 */
import { Redis } from 'ioredis';
import type { QoS } from '../protocol/packets.js';
import type { RestoredState, Rows as RowStream, StoredDelivery, StoredSession, StoredSubscription } from '../broker/storage.js';
import { BatchedStorage, eachClientRow, propertiesFromJson, propertiesToJson, StorageError } from './batch.js';

/** The version of the key layout above; a Redis holding a newer one is refused. */
const FORMAT_VERSION = 1;
/** Members read per ZRANGEBYLEX at load, and yielded as one chunk. */
const LOAD_PAGE = 1000;
const NUL = '\u0000';
/**
 * ZREMRANGEBYLEX of every (min, max) pair in ARGV on KEYS[1]: one command for all the removals
 * of a table in a batch (sent as EVAL, not EVALSHA: a script missing from a restarted Redis'
 * cache would fail inside the transaction, after the commands before it were applied).
 */
const REMOVE_RANGES = `local n = 0
for i = 1, #ARGV, 2 do n = n + redis.call('ZREMRANGEBYLEX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return n`;
type Table = 'messages' | 'retained' | 'sessions' | 'subscriptions' | 'deliveries' | 'incoming' | 'wills';

export interface RedisStorageOptions {
  /** Where Redis is (`redis://[user:password@]host:port[/db]`); default redis://127.0.0.1:6379. */
  url?: string;
  /** Prepended to every key (default `cicada:`). */
  prefix?: string;
}

/** One Redis command, as its words. */
type Command = Array<string | number | Buffer>;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** ZREMRANGEBYLEX bounds of every member whose key fields are `key` (or start with `key` NUL when `key` is a client id). */
const rangeOf = (key: string): [string, string] => [`[${key}${NUL}`, `(${key}\u0001`];

/** A member: key fields, the JSON of the rest, and the payload if any. */
function member(key: string, json: unknown[] | undefined, payload?: Buffer): Buffer {
  const text = json === undefined ? `${key}${NUL}` : `${key}${NUL}${JSON.stringify(json)}`;
  if (payload === undefined) return Buffer.from(text);
  return Buffer.concat([Buffer.from(`${text}${NUL}`), payload]);
}

/** A member split into `keys` key fields, the JSON of the rest (if any), and what follows it. */
function split(m: Buffer, keys: number): { fields: string[]; json: unknown[]; payload: Buffer } {
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < keys; i++) {
    const end = m.indexOf(0, at);
    fields.push(m.toString('utf8', at, end));
    at = end + 1;
  }
  const end = m.indexOf(0, at);
  const jsonEnd = end === -1 ? m.length : end;
  const json = jsonEnd > at ? (JSON.parse(m.toString('utf8', at, jsonEnd)) as unknown[]) : [];
  return { fields, json, payload: end === -1 ? Buffer.alloc(0) : m.subarray(end + 1) };
}

export class RedisStorage extends BatchedStorage {
  /** The error of a failed commit: nothing is sent again. */
  private broken: StorageError | undefined;
  /** The last commit (settles after every earlier one). */
  private tail: Promise<unknown> = Promise.resolve();
  private lastError: Error | undefined;
  /** Commands sent by commits so far, MULTI and EXEC included (benchmarks: commands per message). */
  commandsSent = 0;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly durable: boolean,
    private readonly where: string,
  ) {
    super();
    redis.on('error', (error: Error) => (this.lastError = error));
  }

  /**
   * Connect, check the key layout's version (writing it on a new store proves Redis accepts our
   * writes), and read whether Redis persists (`durable`). Fails with one clear StorageError.
   */
  static async open(options: RedisStorageOptions = {}): Promise<RedisStorage> {
    const url = options.url ?? 'redis://127.0.0.1:6379';
    const prefix = options.prefix ?? 'cicada:';
    const where = `${url.replace(/\/\/[^@/]*@/, '//')} (key prefix ${JSON.stringify(prefix)})`;
    // A command sent on a connection that breaks is not resent (its outcome is unknown): it fails.
    const redis = new Redis(url, { lazyConnect: true, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 });
    let refused: Error | undefined; // why the connection failed (the command only says it closed)
    redis.on('error', (error: Error) => (refused = error));
    try {
      await redis.connect();
      const format = await redis.get(`${prefix}format`);
      if (format === null) await redis.set(`${prefix}format`, FORMAT_VERSION);
      else if (Number(format) > FORMAT_VERSION || !/^\d+$/.test(format)) {
        throw new StorageError(
          `Redis storage at ${where} has key layout version ${format}, written by a newer Cicada (this one reads version ${FORMAT_VERSION}): run that newer version, or use another key prefix`,
        );
      }
      const durable = /^aof_enabled:1\r?$/m.test(await redis.info('persistence'));
      return new RedisStorage(redis, prefix, durable, where);
    } catch (error) {
      redis.disconnect();
      if (error instanceof StorageError) throw error;
      throw new StorageError(`cannot use Redis storage at ${where}: ${reason(refused ?? error)}: check that Redis runs there and accepts writes, then start the broker again`, { cause: error });
    }
  }

  private key(table: Table): string {
    return `${this.prefix}${table}`;
  }

  load(): RestoredState {
    return {
      messages: this.paged('messages', 1, ({ fields: [id], json: j, payload }) => ({
        id: Number(id),
        topic: j[0] as string,
        payload,
        qos: j[1] as QoS,
        retain: j[2] === 1,
        properties: propertiesFromJson(j[3] as string | null),
        origin: (j[4] as string | null) ?? undefined,
        expiresAt: j[5] as number,
      })),
      retained: this.paged('retained', 1, ({ fields: [topic], json: j }) => ({ topic: topic as string, messageId: j[0] as number })),
      sessions: this.paged('sessions', 1, ({ fields: [clientId], json: j }) => ({
        clientId: clientId as string,
        expiryInterval: j[0] as number,
        disconnectedAt: j[1] as number,
        ...(j[2] === null ? {} : { username: j[2] as string }),
        ...(j[3] === null ? {} : { listener: j[3] as string }),
      })),
      subscriptions: this.paged('subscriptions', 2, ({ fields: [clientId, rawFilter], json: j }) => ({
        clientId: clientId as string,
        rawFilter: rawFilter as string,
        qos: j[0] as QoS,
        noLocal: j[1] === 1,
        retainAsPublished: j[2] === 1,
        retainHandling: j[3] as 0 | 1 | 2,
        subscriptionId: j[4] as number,
      })),
      deliveries: this.paged('deliveries', 2, ({ fields: [clientId, seq], json: j }) => ({
        clientId: clientId as string,
        seq: Number(seq),
        messageId: j[0] as number,
        qos: j[1] as QoS,
        retain: j[2] === 1,
        subscriptionIds: (j[3] as number[] | null) ?? undefined,
        packetId: j[4] as number,
        state: j[5] as 0 | 1,
      })),
      incoming: this.paged('incoming', 2, ({ fields: [clientId, packetId] }) => ({ clientId: clientId as string, packetId: Number(packetId) })),
      wills: this.paged('wills', 1, ({ fields: [clientId], json: j, payload }) => ({
        clientId: clientId as string,
        topic: j[0] as string,
        payload,
        qos: j[1] as QoS,
        retain: j[2] === 1,
        properties: propertiesFromJson(j[3] as string | null),
        publishAt: j[4] as number,
      })),
    };
  }

  /**
   * A table's rows in member order, LOAD_PAGE members per ZRANGEBYLEX (each page continues
   * after the last member read), built into records as the broker consumes them.
   */
  private paged<T>(table: Table, keys: number, build: (parts: ReturnType<typeof split>) => T): RowStream<T> {
    const redis = this.redis;
    const key = this.key(table);
    const where = this.where;
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<T[]> {
        let from: string | Buffer = '-';
        for (;;) {
          let page: Buffer[];
          try {
            page = await redis.zrangebylexBuffer(key, from, '+', 'LIMIT', 0, LOAD_PAGE);
          } catch (error) {
            throw new StorageError(`cannot read Redis storage at ${where}: ${reason(error)}: check Redis, then start the broker again`, { cause: error });
          }
          if (page.length > 0) yield page.map((m) => build(split(m, keys)));
          if (page.length < LOAD_PAGE) return;
          from = Buffer.concat([Buffer.from('('), page[page.length - 1] as Buffer]);
        }
      },
    };
  }

  /**
   * Seal the batch into its commands now; send them as one MULTI/EXEC once every earlier commit
   * has settled. Resolves with the rows written or deleted; a failure breaks the store.
   */
  commit(): Promise<number> {
    // Chained even when broken: commit N's promise settles before commit N+1's, whatever happens.
    const commands: Command[] = [];
    const written = this.pendingCount === 0 ? 0 : this.seal(commands);
    this.pendingCount = 0;
    const done = this.tail.then(() => this.send(commands, written));
    this.tail = done.catch(() => {});
    return done;
  }

  private async send(commands: Command[], written: number): Promise<number> {
    if (this.broken !== undefined) throw this.broken;
    if (commands.length === 0) return 0;
    this.commandsSent += commands.length + 2;
    let failure: Error | undefined;
    try {
      const results = await this.redis.multi(commands).exec();
      if (results === null) failure = new Error('the transaction was discarded');
      else failure = results.find(([error]) => error !== null)?.[0] ?? undefined;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    if (failure === undefined) return written;
    const detail = reason((failure as { previousErrors?: Error[] }).previousErrors?.[0] ?? failure);
    this.broken = new StorageError(
      `cannot write Redis storage at ${this.where}: ${detail}${this.lastError !== undefined && this.lastError !== failure ? ` (${reason(this.lastError)})` : ''}: ` +
        'stopped so that nothing unsaved is acknowledged; check Redis (reachable, maxmemory, its disk), then start the broker again',
      { cause: failure },
    );
    throw this.broken;
  }

  /** The commands of the pending batch (deleted sessions first, as SQLite does); empties it. */
  private seal(commands: Command[]): number {
    const removes = new Map<Table, string[]>();
    const del = (table: Table, key: string): void => {
      let ranges = removes.get(table);
      if (ranges === undefined) removes.set(table, (ranges = []));
      ranges.push(...rangeOf(key));
    };
    const adds = new Map<Table, Command>();
    const put = (table: Table, key: string, created: boolean, m: Buffer): void => {
      if (!created) del(table, key);
      let add = adds.get(table);
      if (add === undefined) adds.set(table, (add = ['zadd', this.key(table)]));
      add.push(0, m);
    };
    let written = 0;
    for (const clientId of this.deletedSessions) {
      for (const table of ['sessions', 'subscriptions', 'deliveries', 'incoming', 'wills'] as const) del(table, clientId);
      written++;
    }
    this.deletedSessions.clear();
    for (const [id, { row: m, created }] of this.messages) {
      const key = pad(id, 16);
      if (m === null) del('messages', key);
      else put('messages', key, created, member(key, [m.topic, m.qos, m.retain ? 1 : 0, propertiesToJson(m.properties), m.origin ?? null, m.expiresAt], m.payload));
      written++;
    }
    this.messages.clear();
    for (const [topic, { row: messageId }] of this.retained) {
      if (messageId === null) del('retained', topic);
      else put('retained', topic, false, member(topic, [messageId]));
      written++;
    }
    this.retained.clear();
    for (const [clientId, x] of this.sessions) {
      put('sessions', clientId, false, member(clientId, sessionJson(x)));
      written++;
    }
    this.sessions.clear();
    for (const [clientId, { row: w }] of this.wills) {
      if (w === null) del('wills', clientId);
      else put('wills', clientId, false, member(clientId, [w.topic, w.qos, w.retain ? 1 : 0, propertiesToJson(w.properties), w.publishAt], w.payload));
      written++;
    }
    this.wills.clear();
    written += eachClientRow(this.subscriptions, (clientId, rawFilter, x) => {
      const key = `${clientId}${NUL}${rawFilter}`;
      if (x === null) del('subscriptions', key);
      else put('subscriptions', key, false, member(key, subscriptionJson(x)));
    });
    written += eachClientRow(this.deliveries, (clientId, seq, d, created) => {
      const key = `${clientId}${NUL}${pad(seq, 16)}`;
      if (d === null) del('deliveries', key);
      else put('deliveries', key, created, member(key, deliveryJson(d)));
    });
    written += eachClientRow(this.incoming, (clientId, packetId, x) => {
      const key = `${clientId}${NUL}${pad(packetId, 5)}`;
      if (x === null) del('incoming', key);
      else put('incoming', key, false, member(key, undefined));
    });
    // Per table, every removal (one ZREMRANGEBYLEX, or the script doing them all), then one ZADD.
    for (const [table, ranges] of removes) {
      commands.push(ranges.length === 2 ? ['zremrangebylex', this.key(table), ...ranges] : ['eval', REMOVE_RANGES, 1, this.key(table), ...ranges]);
    }
    commands.push(...adds.values());
    return written;
  }

  /** Commit what is left (unless broken), wait for the commits in flight, close the connection. */
  async close(): Promise<void> {
    try {
      if (this.broken === undefined) await this.commit();
      else await this.tail;
    } finally {
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }
}

/** An error's message without its final period (it goes in the middle of ours). */
function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}

function sessionJson(x: StoredSession): unknown[] {
  return [x.expiryInterval, x.disconnectedAt, x.username ?? null, x.listener ?? null];
}

function subscriptionJson(x: StoredSubscription): unknown[] {
  return [x.qos, x.noLocal ? 1 : 0, x.retainAsPublished ? 1 : 0, x.retainHandling, x.subscriptionId];
}

function deliveryJson(d: StoredDelivery): unknown[] {
  return [d.messageId, d.qos, d.retain ? 1 : 0, d.subscriptionIds ?? null, d.packetId, d.state];
}

