/**
 * Real servers for the sink tests, started by the tests on free loopback ports in temporary
 * directories: a local node:http server, PostgreSQL 15 (as `nobody`: postgres refuses root),
 * InfluxDB 1.x and redis-server. Each can be stopped (killed) and started again on the same
 * port with its data, and says how many records it holds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { canConnect, freePort } from '../helpers/broker.js';
import { Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

export interface SinkServer {
  /** The `sink NAME TYPE URL [options]` words after NAME. */
  readonly sinkLine: string;
  /** The action's template (after the sink's name), writing `${i}` (a unique number) and `${clientid}`. */
  readonly template: string;
  start(): Promise<void>;
  /** Kill it (no clean shutdown). */
  stop(): Promise<void>;
  /** Distinct `i` values stored. */
  distinct(): Promise<number>;
  close(): Promise<void>;
}

// ---- HTTP ------------------------------------------------------------------------------

export class HttpServer implements SinkServer {
  readonly bodies: string[] = [];
  readonly headers: http.IncomingHttpHeaders[] = [];
  /** The status to answer (e.g. 400, 503). */
  status = 200;
  /** Hold every request this long before answering (a slow sink). */
  delayMs = 0;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  get sinkLine(): string {
    return `webhook http://127.0.0.1:${this.port}/ingest batch_size=100 header.x-device=\${clientid}`;
  }

  readonly template = '"{\\"i\\": ${i}, \\"device\\": \\"${clientid}\\"}"';

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const answer = (): void => {
          if (this.status >= 200 && this.status < 300) {
            this.bodies.push(body);
            this.headers.push(req.headers);
          }
          res.writeHead(this.status).end();
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs).unref();
        else answer();
      });
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  async distinct(): Promise<number> {
    return new Set(this.bodies.map((b) => (JSON.parse(b) as { i: number }).i)).size;
  }

  close(): Promise<void> {
    return this.stop();
  }
}

// ---- servers run as child processes -----------------------------------------------------

/** A server in a temporary directory, killed with `signal` and started again with its data. */
abstract class ProcessServer {
  protected dir = '';
  protected process: Spawned | undefined;
  port = 0;

  constructor(private readonly signal: NodeJS.Signals) {}

  async stop(): Promise<void> {
    const process = this.process;
    this.process = undefined;
    if (process === undefined) return;
    process.child.kill(this.signal);
    await process.exit(20_000);
    await waitFor(async () => !(await canConnect(this.port)), 10_000, 'server stopped');
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- PostgreSQL ------------------------------------------------------------------------

const PG_BIN = '/usr/lib/postgresql/15/bin';
/** PostgreSQL refuses to run as root: its processes run as nobody (when the tests run as root). */
const NOBODY = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A directory `nobody` may write (postgres will not run as root). */
function nobodyDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
  return dir;
}

export class PostgresServer extends ProcessServer implements SinkServer {
  // SIGQUIT: immediate shutdown, no checkpoint (a crash, without leaving shared memory behind).
  constructor() {
    super('SIGQUIT');
  }

  get url(): string {
    return `postgres://nobody@127.0.0.1:${this.port}/postgres`;
  }

  get sinkLine(): string {
    return `postgres ${this.url} batch_size=500`;
  }

  readonly template = '"INSERT INTO readings(i, device) VALUES (${i}, ${clientid})"';

  async start(): Promise<void> {
    if (this.dir === '') {
      this.dir = nobodyDir('cicada-pg-');
      this.port = await freePort();
      execFileSync(`${PG_BIN}/initdb`, ['-D', path.join(this.dir, 'data'), '-A', 'trust', '-U', 'nobody', '--no-sync'], { stdio: 'ignore', cwd: this.dir, ...NOBODY });
    }
    const args = ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-h', '127.0.0.1', '-k', this.dir, '-c', 'fsync=off'];
    this.process = new Spawned(spawn(`${PG_BIN}/postgres`, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir, ...NOBODY }));
    await waitFor(() => canConnect(this.port), 20_000, `postgres on ${this.port} (${this.process.stderr})`, 50);
    await waitFor(() => this.query('SELECT 1').then(() => true, () => false), 20_000, 'postgres accepts queries', 50);
    await this.query('CREATE TABLE IF NOT EXISTS readings(i integer NOT NULL, device text NOT NULL, CHECK (i >= 0))');
  }

  async query(text: string): Promise<Array<Record<string, unknown>>> {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  }

  async distinct(): Promise<number> {
    const rows = await this.query('SELECT count(DISTINCT i) AS n FROM readings');
    return Number(rows[0]?.n);
  }

}

// ---- InfluxDB 1.x ----------------------------------------------------------------------

export class InfluxServer extends ProcessServer implements SinkServer {
  constructor() {
    super('SIGKILL');
  }

  get sinkLine(): string {
    return `influxdb http://127.0.0.1:${this.port}/write?db=telemetry&precision=ms batch_size=1000`;
  }

  // One point per message: the unique i is a tag, so no two points overwrite each other.
  readonly template = '"readings,i=${i},device=${clientid} value=${i}i,note=\\"q\\\\\\"${clientid}\\""';

  async start(): Promise<void> {
    if (this.dir === '') {
      this.dir = mkdtempSync(path.join(os.tmpdir(), 'cicada-influx-'));
      this.port = await freePort();
      const rpc = await freePort();
      writeFileSync(
        path.join(this.dir, 'influxdb.conf'),
        [
          'reporting-disabled = true',
          `bind-address = "127.0.0.1:${rpc}"`,
          '[meta]',
          `  dir = "${this.dir}/meta"`,
          '[data]',
          `  dir = "${this.dir}/data"`,
          `  wal-dir = "${this.dir}/wal"`,
          '  query-log-enabled = false',
          '[http]',
          `  bind-address = "127.0.0.1:${this.port}"`,
          '  log-enabled = false',
          '[monitor]',
          '  store-enabled = false',
          '',
        ].join('\n'),
      );
    }
    this.process = new Spawned(spawn('influxd', ['-config', path.join(this.dir, 'influxdb.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(() => fetch(`http://127.0.0.1:${this.port}/ping`).then((r) => r.status === 204, () => false), 30_000, `influxd on ${this.port} (${this.process.stderr.slice(-500)})`, 50);
    await this.query('CREATE DATABASE telemetry', 'POST');
  }

  async query(q: string, method = 'GET'): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${this.port}/query?db=telemetry&q=${encodeURIComponent(q)}`, { method });
    return response.json();
  }

  async distinct(): Promise<number> {
    const result = (await this.query('SELECT count(value) FROM readings')) as { results: Array<{ series?: Array<{ values: Array<[string, number]> }> }> };
    return result.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
  }

}

// ---- Redis -----------------------------------------------------------------------------

export class RedisServer extends ProcessServer implements SinkServer {
  constructor() {
    super('SIGKILL');
  }

  get sinkLine(): string {
    return `redis redis://127.0.0.1:${this.port} batch_size=500`;
  }

  // A set: adding the same i twice (a retried pipeline) is counted once.
  readonly template = '"SADD readings ${i}"';

  async start(): Promise<void> {
    if (this.dir === '') {
      this.dir = mkdtempSync(path.join(os.tmpdir(), 'cicada-redis-'));
      this.port = await freePort();
    }
    // Append-only file on: a killed server comes back with what it acknowledged.
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
    this.process = new Spawned(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    await this.process.waitForOutput('Ready to accept connections', 10_000);
  }

  async command(...args: string[]): Promise<unknown> {
    const { Redis } = await import('ioredis');
    const client = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    try {
      return await client.call(args[0] as string, ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }

  async distinct(): Promise<number> {
    return Number(await this.command('SCARD', 'readings'));
  }

}
