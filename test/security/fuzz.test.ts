// The short fuzz run of the test command (scripts/fuzz.mjs runs the long one): random and
// mutated packets against a live broker while a well-behaved client is served throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from './fuzz-engine.js';
import { replayNote, seedFor } from '../helpers/seed.js';
import { portOf, startCicada } from './support.js';

test('fuzz: random and mutated packets for ~8 s; the probe client is served throughout, the broker stays up', async (t) => {
  const seed = seedFor('network fuzz');
  const { broker, url } = await startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], connectTimeoutMs: 1000, maxPacketSize: 1024 * 1024 });
  const report = await fuzz({ port: portOf(url()), durationMs: 8000, maxPackets: 500_000, seed, concurrency: 8, probeTimeoutMs: 2000 });
  t.diagnostic(`fuzz ${replayNote(seed)}: ${JSON.stringify({ ...report, probeFailures: report.probeFailures.length })}`);
  assert.deepEqual(report.probeFailures, [], replayNote(seed));
  assert.ok(report.packetsSent > 1000, `enough packets sent (${report.packetsSent})`);
  assert.ok(report.probeRounds > 10);
  assert.ok(broker.stats.protocolErrors > 0, 'the broker saw (and counted) malformed input');
  // Nothing left behind: every fuzzing connection is gone once the run ends.
  const deadline = Date.now() + 3000;
  while (broker.stats.clientsConnected > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(broker.stats.clientsConnected, 0);
});
