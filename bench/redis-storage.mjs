#!/usr/bin/env node
/**
 * RedisStorage commit throughput: rows per second committed in batches of 100 and 1,000, and the
 * Redis commands each batch costs: sent by the storage (MULTI and EXEC included), and run by
 * Redis (INFO stats' total_commands_processed, which also counts the commands a script runs;
 * the bench's own INFO calls taken out). A batch of N rows is what a broker writes for N/2 QoS 1 messages queued for
 * an offline persistent subscriber (N/2 messages, N/2 fresh deliveries, 64-byte payloads);
 * then load() reads them all back (rows/s of a restart), and the same rows are deleted in
 * batches of N (the subscriber acknowledged them). One commit
 * in flight at a time, as the broker does. Starts its own redis-server (appendonly yes, the
 * given appendfsync) on a free loopback port in a temporary directory. clientCpuMsPerBatch: the
 * CPU time of this (the broker's) process per batch, the rest of msPerBatch is Redis and the wire.
 *
 *   npm run build && node bench/redis-storage.mjs [--rows 100000] [--fsync everysec|always]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { RedisStorage } = await import(join(ROOT, 'dist', 'src', 'storage', 'redis.js'));

const opts = { rows: 100_000, fsync: 'everysec' };
for (let i = 2; i < process.argv.length; i += 2) {
  const [name, value] = [process.argv[i], process.argv[i + 1]];
  if (name === '--rows' && Number(value) > 0) opts.rows = Number(value);
  else if (name === '--fsync' && ['everysec', 'always', 'no'].includes(value)) opts.fsync = value;
  else {
    process.stderr.write(`redis-storage: unknown or bad option ${name} ${value ?? ''} (--rows N, --fsync everysec|always|no)\n`);
    process.exit(2);
  }
}

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'cicada-redis-bench-'));
const redis = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', opts.fsync, '--dir', dir], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
const control = new Redis(url, { retryStrategy: (times) => (times > 100 ? null : 50) });
control.on('error', () => {}); // refused until redis-server listens: retried
await control.ping(); // waits (bounded retries) until redis-server answers
const commandsSoFar = async () => Number(/total_commands_processed:(\d+)/.exec(await control.info('stats'))[1]);

const payload = Buffer.alloc(64, 'x');
const message = (id) => ({ id, topic: `bench/${id % 100}`, payload, qos: 1, retain: false, properties: undefined, origin: 'pub', expiresAt: 0 });
const delivery = (seq) => ({ clientId: 'sub', seq, messageId: seq, qos: 1, retain: false, subscriptionIds: undefined, packetId: 0, state: 0 });

async function run(batchRows, prefix) {
  const storage = await RedisStorage.open({ url, prefix });
  const pairs = batchRows / 2;
  const batches = Math.floor(opts.rows / batchRows);
  const phase = async (write) => {
    const before = await commandsSoFar();
    const sentBefore = storage.commandsSent;
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let rows = 0;
    for (let b = 0; b < batches; b++) {
      for (let i = 1; i <= pairs; i++) write(b * pairs + i);
      rows += await storage.commit();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { user, system } = process.cpuUsage(cpu);
    const commands = (await commandsSoFar()) - before - 1; // the second INFO counts itself
    return { rowsPerSecond: Math.round(rows / seconds), commandsSentPerBatch: +((storage.commandsSent - sentBefore) / batches).toFixed(1), commandsRunPerBatch: +(commands / batches).toFixed(1), msPerBatch: +((seconds * 1000) / batches).toFixed(2), clientCpuMsPerBatch: +((user + system) / 1000 / batches).toFixed(2) };
  };
  const put = await phase((n) => {
    storage.putMessage(message(n));
    storage.putDelivery(delivery(n), true);
  });
  const loadStarted = process.hrtime.bigint();
  const state = storage.load();
  let loaded = 0;
  for (const rows of [state.messages, state.retained, state.sessions, state.subscriptions, state.deliveries, state.incoming, state.wills]) {
    for await (const chunk of rows) loaded += chunk.length;
  }
  const load = { rows: loaded, rowsPerSecond: Math.round(loaded / (Number(process.hrtime.bigint() - loadStarted) / 1e9)) };
  const del = await phase((n) => {
    storage.deleteDelivery('sub', n);
    storage.deleteMessage(n);
  });
  await storage.close();
  return { batchRows, batches, put, load, delete: del };
}

try {
  const results = [];
  for (const batchRows of [100, 1000]) results.push(await run(batchRows, `bench${batchRows}:`));
  process.stdout.write(`${JSON.stringify({ redis: 'appendonly yes', appendfsync: opts.fsync, rows: opts.rows, payloadBytes: payload.length, results }, null, 2)}\n`);
} finally {
  control.disconnect();
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
