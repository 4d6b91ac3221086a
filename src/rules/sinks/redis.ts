/**
 * The Redis sink, with ioredis: each output row becomes one command, a batch one pipeline.
 * Default: `XADD <stream> [MAXLEN ~ N] * field value ...` with the output row's top-level keys as
 * fields; or the action's template is a command whose words are templates
 * (`HSET device:${clientid} temp ${temp}`: a placeholder's value stays one argument, spaces and
 * all). An error reply (WRONGTYPE, ...) fails that row; a lost connection retries the batch.
 * Commands are never queued while disconnected (ioredis' offline queue is off): the sink's own
 * bounded buffer holds them.
 *
 *   sink NAME redis redis://[:password@]host[:port][/db] [stream=KEY-TEMPLATE] [maxlen=N]
 *   action NAME ["COMMAND ARG ..."]
 */
import type { Value } from '../ast.js';
import { RuleSyntaxError } from '../errors.js';
import { toText } from '../functions.js';
import { templateAt } from '../republish.js';
import type { ItemOutcome, SinkDriver, SinkItem } from '../sink.js';
import { render, type Template } from '../template.js';
import { splitWords } from '../words.js';
import type { SinkConfig, SinkType } from './types.js';

/** A command template (words), or undefined for XADD to the configured stream. */
type Prepared = Template[] | undefined;

/** Commands an action may not send (they would change the server, not write data). */
const REFUSED = new Set(['FLUSHALL', 'FLUSHDB', 'SHUTDOWN', 'CONFIG', 'DEBUG', 'SCRIPT', 'EVAL', 'EVALSHA', 'FUNCTION', 'MODULE', 'ACL', 'REPLICAOF', 'SLAVEOF', 'MIGRATE', 'KEYS', 'MONITOR', 'SUBSCRIBE', 'PSUBSCRIBE']);

function command(prepared: Prepared, output: Record<string, Value>, config: SinkConfig): string[] {
  if (prepared !== undefined) return prepared.map((t) => render(t, output));
  const stream = render(templateAt(config.options.get('stream') ?? { text: 'cicada', column: 1 }), output);
  const maxlen = config.options.get('maxlen');
  const fields = Object.entries(output).flatMap(([k, v]) => [k, toText(v)]);
  return ['XADD', stream, ...(maxlen !== undefined ? ['MAXLEN', '~', maxlen.text] : []), '*', ...(fields.length > 0 ? fields : ['empty', ''])];
}

interface Pipeline {
  call(command: string, ...args: string[]): Pipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

interface RedisClient {
  pipeline(): Pipeline;
  connect(): Promise<void>;
  disconnect(): void;
  quit(): Promise<unknown>;
  status: string;
}

class RedisDriver implements SinkDriver {
  constructor(
    private readonly client: RedisClient,
    private readonly config: SinkConfig,
  ) {}

  async write(batch: SinkItem[]): Promise<ItemOutcome[]> {
    if (this.client.status === 'wait' || this.client.status === 'end') await this.client.connect();
    const pipeline = this.client.pipeline();
    for (const item of batch) {
      const [name, ...args] = command(item.prepared as Prepared, item.output, this.config);
      pipeline.call(name as string, ...args);
    }
    const results = await pipeline.exec();
    if (results === null) throw new Error('redis pipeline aborted');
    return results.map(([error]): ItemOutcome => {
      if (error === null) return 'ok';
      // A reply error (the server answered) fails the row; anything else is the connection.
      return error.name === 'ReplyError' ? 'failed' : 'retry';
    });
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

export const redisType: SinkType<Prepared> = {
  options: ['stream', 'maxlen'],
  check(config, urlWord) {
    if (!/^rediss?:\/\/./.test(config.url)) throw new RuleSyntaxError('a redis URL starts with redis:// or rediss://', urlWord.column);
    const maxlen = config.options.get('maxlen');
    if (maxlen !== undefined && !/^[1-9]\d{0,9}$/.test(maxlen.text)) throw new RuleSyntaxError('maxlen is a whole number', maxlen.column);
    const stream = config.options.get('stream');
    if (stream !== undefined) templateAt(stream);
  },
  prepare(template) {
    if (template === undefined) return undefined;
    const words = splitWords(template.text).map((w) => ({ text: w.text, column: template.column + w.column - 1 }));
    const name = words[0];
    if (name === undefined) throw new RuleSyntaxError('expects a Redis command', template.column);
    if (REFUSED.has(name.text.toUpperCase()) || !/^[A-Za-z.]+$/.test(name.text)) throw new RuleSyntaxError(`${name.text} is not a command a rule may send`, name.column);
    return words.map(templateAt);
  },
  preview(prepared, output, config) {
    return command(prepared, output, config);
  },
  async open(config) {
    const { Redis } = await import('ioredis');
    const client = new Redis(config.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5000,
      // Reconnect in the background; the sink's back-off paces the writes.
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
    });
    client.on('error', () => undefined);
    return new RedisDriver(client, config);
  },
};
