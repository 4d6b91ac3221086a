/**
 * $SYS topics (not in the MQTT specification; named as Mosquitto 2 publishes them, checked against
 * the real Mosquitto with sys_interval 1): all of Mosquitto's, retained, present, and moving as
 * clients act.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from '../helpers/harness.js';
import type { Inbox } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';

// Every topic Debian's Mosquitto 2.0.11 publishes with sys_interval 1 once a client has
// connected (subscribed `$SYS/#` on it), sorted: the same list must come from Cicada.
const SYS_TOPICS = [
    '$SYS/broker/bytes/received',
    '$SYS/broker/bytes/sent',
    '$SYS/broker/clients/active',
    '$SYS/broker/clients/connected',
    '$SYS/broker/clients/disconnected',
    '$SYS/broker/clients/expired',
    '$SYS/broker/clients/inactive',
    '$SYS/broker/clients/maximum',
    '$SYS/broker/clients/total',
    '$SYS/broker/heap/current',
    '$SYS/broker/heap/maximum',
    '$SYS/broker/load/bytes/received/15min',
    '$SYS/broker/load/bytes/received/1min',
    '$SYS/broker/load/bytes/received/5min',
    '$SYS/broker/load/bytes/sent/15min',
    '$SYS/broker/load/bytes/sent/1min',
    '$SYS/broker/load/bytes/sent/5min',
    '$SYS/broker/load/connections/15min',
    '$SYS/broker/load/connections/1min',
    '$SYS/broker/load/connections/5min',
    '$SYS/broker/load/messages/received/15min',
    '$SYS/broker/load/messages/received/1min',
    '$SYS/broker/load/messages/received/5min',
    '$SYS/broker/load/messages/sent/15min',
    '$SYS/broker/load/messages/sent/1min',
    '$SYS/broker/load/messages/sent/5min',
    '$SYS/broker/load/publish/dropped/15min',
    '$SYS/broker/load/publish/dropped/1min',
    '$SYS/broker/load/publish/dropped/5min',
    '$SYS/broker/load/publish/received/15min',
    '$SYS/broker/load/publish/received/1min',
    '$SYS/broker/load/publish/received/5min',
    '$SYS/broker/load/publish/sent/15min',
    '$SYS/broker/load/publish/sent/1min',
    '$SYS/broker/load/publish/sent/5min',
    '$SYS/broker/load/sockets/15min',
    '$SYS/broker/load/sockets/1min',
    '$SYS/broker/load/sockets/5min',
    '$SYS/broker/messages/received',
    '$SYS/broker/messages/sent',
    '$SYS/broker/messages/stored',
    '$SYS/broker/publish/bytes/received',
    '$SYS/broker/publish/bytes/sent',
    '$SYS/broker/publish/messages/dropped',
    '$SYS/broker/publish/messages/received',
    '$SYS/broker/publish/messages/sent',
    '$SYS/broker/retained messages/count',
    '$SYS/broker/shared_subscriptions/count',
    '$SYS/broker/store/messages/bytes',
    '$SYS/broker/store/messages/count',
    '$SYS/broker/subscriptions/count',
    '$SYS/broker/uptime',
    '$SYS/broker/version',
];

/** The latest value received on a $SYS topic, as a number (NaN if absent). */
function latest(inbox: Inbox, topic: string): number {
  const values = inbox.on(topic);
  return Number.parseFloat(values[values.length - 1]?.payload ?? 'NaN');
}

async function grows(inbox: Inbox, topic: string, above: number): Promise<void> {
  await waitFor(() => latest(inbox, topic) > above, 3000, `${topic} above ${above} (latest ${latest(inbox, topic)})`, 50);
}

describe('$SYS', { concurrency: true }, () => {
  test('with sysInterval 1, the Mosquitto 2 $SYS topics are published and retained', async (t) => {
    const h = await setup(t, { sysInterval: 1 });
    // Every topic comes within two intervals (clients/maximum with the round after the first client).
    const early = await h.mqtt({ clientId: 'early' });
    await early.subscribeAsync('$SYS/#', { qos: 0 });
    const absent = (inbox: Inbox, retained: boolean): string[] => SYS_TOPICS.filter((topic) => !inbox.on(topic).some((m) => m.retain || !retained));
    await waitFor(() => absent(early.inbox, false).length === 0, 3500, `$SYS topics, missing ${JSON.stringify(absent(early.inbox, false))}`, 50);
    // They are retained: a later subscriber gets each at once, with RETAIN set.
    const late = await h.mqtt({ clientId: 'late' });
    await late.subscribeAsync('$SYS/#', { qos: 0 });
    await waitFor(() => absent(late.inbox, true).length === 0, 2000, `retained $SYS topics, missing ${JSON.stringify(absent(late.inbox, true))}`, 50);
    assert.match(late.inbox.on('$SYS/broker/version')[0]!.payload, /version \d+\.\d+/);
    assert.match(late.inbox.on('$SYS/broker/uptime')[0]!.payload, /^\d+ seconds$/);
  });

  test('$SYS counters move as clients connect, subscribe and publish', async (t) => {
    const h = await setup(t, { sysInterval: 1 });
    const watch = await h.mqtt({ clientId: 'watch' });
    await watch.subscribeAsync('$SYS/broker/#', { qos: 0 });
    await waitFor(() => SYS_TOPICS.every((topic) => watch.inbox.on(topic).length > 0), 2500, '$SYS values', 50);
    const before = Object.fromEntries(SYS_TOPICS.map((topic) => [topic, latest(watch.inbox, topic)]));
    // Retained values may predate this client; counters are compared with later rounds only.

    const a = await h.mqtt({ clientId: 'a' });
    const b = await h.mqtt({ clientId: 'b' });
    await a.subscribeAsync('moving/+', { qos: 1 });
    await b.publishAsync('moving/x', 'payload that counts', { qos: 1, retain: true });
    await a.inbox.next(1);

    await grows(watch.inbox, '$SYS/broker/clients/connected', before['$SYS/broker/clients/connected']! + 1);
    await grows(watch.inbox, '$SYS/broker/clients/total', before['$SYS/broker/clients/total']! + 1);
    await grows(watch.inbox, '$SYS/broker/subscriptions/count', before['$SYS/broker/subscriptions/count']!);
    await grows(watch.inbox, '$SYS/broker/retained messages/count', before['$SYS/broker/retained messages/count']!);
    await grows(watch.inbox, '$SYS/broker/messages/received', before['$SYS/broker/messages/received']!);
    await grows(watch.inbox, '$SYS/broker/messages/sent', before['$SYS/broker/messages/sent']!);
    await grows(watch.inbox, '$SYS/broker/bytes/received', before['$SYS/broker/bytes/received']!);
    await grows(watch.inbox, '$SYS/broker/bytes/sent', before['$SYS/broker/bytes/sent']!);
    await grows(watch.inbox, '$SYS/broker/uptime', before['$SYS/broker/uptime']!);
    await grows(watch.inbox, '$SYS/broker/clients/maximum', 1);
    await grows(watch.inbox, '$SYS/broker/publish/bytes/received', before['$SYS/broker/publish/bytes/received']!);
    await grows(watch.inbox, '$SYS/broker/load/messages/received/1min', 0);
    await grows(watch.inbox, '$SYS/broker/load/connections/1min', 0);
    await grows(watch.inbox, '$SYS/broker/store/messages/count', 0);
    assert.match(watch.inbox.on('$SYS/broker/load/bytes/received/15min').at(-1)!.payload, /^\d+\.\d\d$/, 'loads have two decimals');
    assert.ok(latest(watch.inbox, '$SYS/broker/heap/maximum') >= latest(watch.inbox, '$SYS/broker/heap/current'));

    const connectedNow = latest(watch.inbox, '$SYS/broker/clients/connected');
    await a.endAsync();
    await b.endAsync();
    await waitFor(() => latest(watch.inbox, '$SYS/broker/clients/connected') <= connectedNow - 2, 3000, 'clients/connected drops after disconnects', 50);
  });

  // [MQTT-4.7.2-1] "The Server MUST NOT match Topic Filters starting with a wildcard character (# or
  // +) with Topic Names beginning with a $ character."
  test('[MQTT-4.7.2-1] real $SYS topics are not matched by # or +/broker/#', async (t) => {
    const h = await setup(t, { sysInterval: 1 });
    const all = await h.mqtt({ clientId: 'all' });
    await all.subscribeAsync({ '#': { qos: 0 }, '+/broker/#': { qos: 0 } });
    const sys = await h.mqtt({ clientId: 'sys' });
    await sys.subscribeAsync('$SYS/broker/uptime', { qos: 0 });
    await sys.inbox.next(1, 2500);
    await all.inbox.expectNoMore();
  });
});
