/**
 * The PostgreSQL (and TimescaleDB) sink, with pg. The action's template is an SQL statement whose
 * `${...}` become parameters ($1, $2, ...): values never enter the SQL text. A batch of a simple
 * `INSERT INTO t(cols) VALUES (...)` is sent as one multi-row INSERT (still parameterised);
 * other statements run one by one inside a transaction. A connection error retries the batch;
 * a batch the server refuses (a constraint, a bad value) is retried row by row, so only the
 * rows at fault count as failed.
 *
 *   sink NAME postgres postgres://user[:password]@host[:port]/database
 *   action NAME "INSERT INTO alerts(ts, device, temp) VALUES (${timestamp}, ${clientid}, ${temp})"
 */
import type { Expr, Value } from '../ast.js';
import { RuleSyntaxError } from '../errors.js';
import { evaluate, Row } from '../evaluate.js';
import { templateAt } from '../republish.js';
import type { ItemOutcome, SinkDriver, SinkItem } from '../sink.js';
import type { Word } from '../words.js';
import type { SinkType } from './types.js';
import { isConnectionError, parameter } from './values.js';

interface Prepared {
  /** The statement with $1..$n. */
  text: string;
  params: Expr[];
  /** For a single-row INSERT: the text before VALUES' tuple, and the tuple's parts. */
  insert: { head: string; tuple: Array<string | number> } | undefined;
}

/** PostgreSQL's bound on parameters per statement. */
const MAX_PARAMETERS = 65_535;

function prepare(template: Word | undefined): Prepared {
  if (template === undefined) throw new RuleSyntaxError('a postgres action needs an SQL statement, e.g. "INSERT INTO t(a) VALUES (${a})"', 1);
  const quoted = /'\$\{[^}]*\}'/.exec(template.text);
  if (quoted !== null) throw new RuleSyntaxError("do not quote ${...}: values are sent as parameters, not text", template.column + quoted.index);
  const compiled = templateAt(template);
  let text = '';
  const params: Expr[] = [];
  for (const part of compiled.parts) {
    if (typeof part === 'string') text += part;
    else text += `$${params.push(part)}`;
  }
  return { text, params, insert: singleInsert(compiled.parts) };
}

/** `INSERT INTO ... VALUES ( ... )` with nothing after the tuple: split to repeat the tuple. */
function singleInsert(parts: ReadonlyArray<string | Expr>): Prepared['insert'] {
  const first = parts[0];
  if (typeof first !== 'string') return undefined;
  const match = /^(\s*INSERT\s+INTO\s+[^;]*?\bVALUES\s*)\(/i.exec(first);
  const last = parts[parts.length - 1];
  if (match === null || typeof last !== 'string' || !/\)\s*;?\s*$/.test(last)) return undefined;
  const tuple: Array<string | number> = [];
  let index = 0;
  parts.forEach((part, i) => {
    if (typeof part !== 'string') tuple.push(index++);
    else tuple.push(i === 0 ? part.slice((match[1] as string).length) : i === parts.length - 1 ? part.replace(/;?\s*$/, '') : part);
  });
  // Only a plain tuple qualifies (no ON CONFLICT / RETURNING / SELECT after it).
  const literal = tuple.filter((t): t is string => typeof t === 'string').join('');
  if (/\b(ON|RETURNING|SELECT|WHERE)\b/i.test(literal)) return undefined;
  return { head: match[1] as string, tuple };
}

function values(prepared: Prepared, output: Record<string, Value>): Array<string | number | boolean | null> {
  const row = new Row(output, undefined);
  return prepared.params.map((p) => parameter(evaluate(p, row)));
}

/** One multi-row INSERT for many outputs of the same single-row INSERT. */
function multiRow(prepared: Prepared, items: SinkItem[]): { text: string; values: unknown[] } {
  const insert = prepared.insert as NonNullable<Prepared['insert']>;
  const all: unknown[] = [];
  const tuples = items.map((item) => {
    const base = all.length;
    all.push(...values(prepared, item.output));
    return insert.tuple.map((t) => (typeof t === 'number' ? `$${base + t + 1}` : t)).join('');
  });
  return { text: `${insert.head}${tuples.join(', ')}`, values: all };
}

interface PgClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

class PostgresDriver implements SinkDriver {
  private client: PgClient | undefined;

  constructor(private readonly connect: () => Promise<PgClient>) {}

  async write(batch: SinkItem[]): Promise<ItemOutcome[]> {
    const client = (this.client ??= await this.connect());
    try {
      await this.writeAll(client, batch);
      return batch.map(() => 'ok');
    } catch (error) {
      if (isConnectionError(error)) {
        this.drop();
        throw error;
      }
      return this.oneByOne(client, batch);
    }
  }

  private async writeAll(client: PgClient, batch: SinkItem[]): Promise<void> {
    const prepared = batch[0]?.prepared as Prepared;
    const same = batch.every((item) => item.prepared === prepared);
    if (same && prepared.insert !== undefined && prepared.params.length > 0) {
      const per = Math.max(1, Math.floor(MAX_PARAMETERS / prepared.params.length));
      for (let i = 0; i < batch.length; i += per) {
        const { text, values: all } = multiRow(prepared, batch.slice(i, i + per));
        await client.query(text, all);
      }
      return;
    }
    await client.query('BEGIN');
    try {
      for (const item of batch) await client.query((item.prepared as Prepared).text, values(item.prepared as Prepared, item.output));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Refused batch: each row alone, so only the rows at fault fail. */
  private async oneByOne(client: PgClient, batch: SinkItem[]): Promise<ItemOutcome[]> {
    const outcomes: ItemOutcome[] = [];
    for (const item of batch) {
      try {
        await client.query((item.prepared as Prepared).text, values(item.prepared as Prepared, item.output));
        outcomes.push('ok');
      } catch (error) {
        if (isConnectionError(error)) {
          this.drop();
          outcomes.push(...batch.slice(outcomes.length).map((): ItemOutcome => 'retry'));
          return outcomes;
        }
        outcomes.push('failed');
      }
    }
    return outcomes;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    void client?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

export const postgresType: SinkType<Prepared> = {
  options: [],
  check(config, urlWord) {
    if (!/^postgres(ql)?:\/\/./.test(config.url)) throw new RuleSyntaxError('a postgres URL starts with postgres:// or postgresql://', urlWord.column);
  },
  prepare,
  preview(prepared, output) {
    return { text: prepared.text, values: values(prepared, output) };
  },
  async open(config) {
    const pg = (await import('pg')).default;
    return new PostgresDriver(async () => {
      const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
      // An error on an idle connection (server gone) must not crash the broker; the next write reconnects.
      client.on('error', () => undefined);
      await client.connect();
      return client;
    });
  },
};
