// The JIT warm-up (src/transport/warm-up.ts): it delivers every message through a throwaway broker
// (so a broken message path shows at start), and leaves no trace in the real one: no hook call,
// counter, retained message, session or client id taken. `cicada broker` warms up by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cicadaOnly, freePort, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { spawnProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../security/support.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

test('warmUp: 12,000 messages through a throwaway broker before listening; the real broker sees no hook call, counter or client of it', cicadaOnly('warm-up'), async (t) => {
  const seen: string[] = [];
  const broker = await startBroker({
    warmUp: true,
    authenticate: (info) => {
      seen.push(info.clientId);
      return true;
    },
  });
  t.after(() => broker.close());
  const logs = broker.logs();
  const warmed = /debug warmed up (\{.*\})/.exec(logs); // a detail for tuning: debug
  assert.ok(warmed, `a "warmed up" line (logs: ${logs})`);
  assert.equal((JSON.parse(warmed[1] as string) as { messages: number }).messages, 12_000);
  assert.ok(logs.indexOf('warmed up') < logs.indexOf('listening on'), 'warmed up before listening');
  const stats = broker.broker?.stats;
  assert.equal(stats?.clientsTotal, 0);
  assert.equal(stats?.messagesReceived, 0);
  assert.equal(stats?.retainedMessages, 0);
  assert.deepEqual(seen, []);
  // The warm-up's client ids are free, and its subscriptions are not the real broker's.
  const client = await connectMqtt(broker.url, { clientId: 'warm-up-sub-4', clean: false });
  t.after(() => endMqtt(client));
  await client.subscribeAsync('warm-up/4/literal', { qos: 1 });
  await client.publishAsync('warm-up/4/literal', 'real', { qos: 1 });
  const got = await client.inbox.next(1);
  assert.deepEqual(got.map((m) => m.payload), ['real']);
  await client.inbox.expectNone(200);
  assert.deepEqual(seen, ['warm-up-sub-4']);
});

test('cicada broker warms up by default and says so (at debug level) before listening; warm_up false skips it', cicadaOnly('warm-up'), async (t) => {
  const dir = tempDir(t);
  for (const setting of ['', 'warm_up false\n']) {
    const port = await freePort();
    const log = join(dir, `warm-${port}.log`);
    const conf = join(dir, `warm-${port}.conf`);
    writeFileSync(conf, `listener ${port} 127.0.0.1\npersistence false\nlog_dest file ${log}\nlog_type all\nlog_format json\n${setting}`);
    const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf]);
    t.after(() => broker.kill('SIGKILL'));
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('listening on'), 10_000, 'the log file');
    const messages = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; level: number; messages?: number });
    const warm = messages.filter((m) => m.msg === 'warmed up');
    if (setting === '') {
      assert.deepEqual(warm.map((m) => [m.level, m.messages]), [[20, 12_000]]); // a detail for tuning: debug
      assert.ok(messages.findIndex((m) => m.msg === 'warmed up') < messages.findIndex((m) => m.msg.startsWith('listening on')));
    } else assert.deepEqual(warm, []);
    broker.kill('SIGTERM');
    assert.equal((await broker.exit(5000)).code, 0);
  }
});
