#!/usr/bin/env node
// The long fuzz run: random and mutated MQTT packets against a live Cicada while a well-behaved
// client checks it is served throughout (the engine is test/security/fuzz-engine.ts).
//   npx tsc -p . && node --expose-gc scripts/fuzz.mjs [--minutes 5] [--packets 20000000] [--seed N] [--concurrency 16]
// Exits non-zero if the probe client was not served, the broker crashed, or memory kept growing.
import { parseArgs } from 'node:util';
import { createBroker } from '../dist/src/index.js';
import { fuzz } from '../dist/test/security/fuzz-engine.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    packets: { type: 'string', default: '20000000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    concurrency: { type: 'string', default: '16' },
  },
});
const seed = Number(values.seed);
const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'warn', sysInterval: 0, connectTimeoutMs: 1000, maxPacketSize: 1024 * 1024 });
await broker.listen();
process.on('uncaughtException', (error) => {
  process.stderr.write(`fuzz: the broker crashed (seed ${seed}): ${error.stack}\n`);
  process.exit(2);
});
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const heapBefore = process.memoryUsage().heapUsed;
const report = await fuzz({
  port: broker.port,
  durationMs: Number(values.minutes) * 60_000,
  maxPackets: Number(values.packets),
  seed,
  concurrency: Number(values.concurrency),
  probeTimeoutMs: 3000,
});
await new Promise((r) => setTimeout(r, 2000));
globalThis.gc?.();
const rssAfter = process.memoryUsage().rss;
const heapAfter = process.memoryUsage().heapUsed;
const stats = broker.stats;
await broker.close();
process.stdout.write(`${JSON.stringify({ ...report, rssBeforeMB: Math.round(rssBefore / 1e6), rssAfterMB: Math.round(rssAfter / 1e6), heapBeforeMB: Math.round(heapBefore / 1e6), heapAfterMB: Math.round(heapAfter / 1e6), stats }, null, 2)}\n`);
// The heap after a full GC, not the RSS (which keeps freed socket buffers): a leak shows there.
const grew = heapAfter - heapBefore > 256e6;
if (report.probeFailures.length > 0 || grew || stats.clientsConnected !== 0) {
  process.stderr.write(`fuzz: FAILED (seed ${seed})${grew ? ': the heap grew by more than 256 MB' : ''}\n`);
  process.exit(1);
}
process.stdout.write(`fuzz: OK (seed ${seed})\n`);
