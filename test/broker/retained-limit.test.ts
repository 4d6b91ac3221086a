// max_retained_messages (EMQX's limit): a ceiling on retained topics. Past it a retained message
// for a new topic is delivered but not retained, counted and visible in $SYS; replacing or
// clearing an existing one always works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createBroker } from '../../src/index.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { waitFor } from '../helpers/wait.js';

test('max_retained_messages: past the limit a retained message for a new topic is delivered, not retained, and counted; replacing and clearing still work', async (t) => {
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 1, maxRetainedMessages: 3 });
  await broker.listen();
  t.after(() => broker.close());
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const live = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const delivered: string[] = [];
  live.on('message', (topic, payload) => {
    if (topic.startsWith('r/')) delivered.push(payload.toString());
  });
  await live.subscribeAsync('r/#', { qos: 1 });
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  for (let i = 0; i < 5; i++) await pub.publishAsync(`r/${i}`, `v${i}`, { qos: 1, retain: true });
  await pub.publishAsync('r/0', 'v0-new', { qos: 1, retain: true }); // replaces: allowed when full
  await waitFor(() => delivered.length === 6, 5000, 'every publication delivered to the live subscriber');
  assert.deepEqual(delivered, ['v0', 'v1', 'v2', 'v3', 'v4', 'v0-new']);
  assert.equal(broker.stats.retainedRefused, 2);

  const retainedOf = async (): Promise<string[]> => {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const got: string[] = [];
    c.on('message', (_topic, payload, packet) => {
      if (packet.retain) got.push(payload.toString());
    });
    await c.subscribeAsync('r/#', { qos: 1 });
    await waitFor(() => got.length >= 3, 5000, 'retained messages');
    await c.endAsync();
    return got.sort();
  };
  assert.deepEqual(await retainedOf(), ['v0-new', 'v1', 'v2']);

  // $SYS shows the refusals.
  const sys = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  let refusedValue = '';
  sys.on('message', (_t, p) => (refusedValue = p.toString()));
  await sys.subscribeAsync('$SYS/broker/retained messages/refused');
  await waitFor(() => refusedValue === '2', 5000, `$SYS refused count 2 (last: ${refusedValue})`);
  await sys.endAsync();

  // Clearing one makes room for a new topic.
  await pub.publishAsync('r/1', '', { qos: 1, retain: true });
  await pub.publishAsync('r/9', 'v9', { qos: 1, retain: true });
  assert.equal(broker.stats.retainedRefused, 2);
  assert.deepEqual(await retainedOf(), ['v0-new', 'v2', 'v9']);
  await Promise.all([pub.endAsync(), live.endAsync()]);
});

test('max_retained_messages directive: a count, 0 for no limit', () => {
  assert.equal(loadConfigText('max_retained_messages 100000', 'a.conf').options.maxRetainedMessages, 100000);
  assert.throws(() => loadConfigText('max_retained_messages -1', 'a.conf'), /a\.conf:1: max_retained_messages/);
});
