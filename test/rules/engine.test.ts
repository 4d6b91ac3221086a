/**
 * The rule engine inside a running broker, with MQTT.js clients: republish (templated topic,
 * QoS, retain, payload, 5.0 user properties), events, loops bounded, counters and $SYS, hostile
 * payloads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';
import { ruleCounters, rulesFrom, rulesOf } from './helpers.js';

const only = cicadaOnly('the rule engine is Cicada\'s');

void test('republish: a rule with WHERE republishes matching messages to a templated topic with QoS, retain, payload and user properties', only, async () => {
  const rules = rulesFrom([
    'rule hot_rooms',
    'sql SELECT payload.temp AS temp, clientid, topic FROM "sensors/+/temp" WHERE payload.temp > 30',
    'action republish alerts/${clientid} 1 retain=true payload="{\\"t\\": ${temp}, \\"from\\": \\"${topic}\\"}" user_property.rule=hot_rooms user_property.device=${clientid}',
  ]);
  const b = await startBroker({ rules });
  const sub = await connectMqtt(b.url, { protocolVersion: 5, clientId: 'sub' });
  const pub = await connectMqtt(b.url, { clientId: 'dev7' });
  try {
    await sub.subscribeAsync('alerts/#', { qos: 1 });
    const props: Array<Record<string, unknown> | undefined> = [];
    sub.on('message', (_t, _p, packet) => props.push(packet.properties?.userProperties as Record<string, unknown> | undefined));
    await pub.publishAsync('sensors/dev7/temp', '{"temp": 25}', { qos: 1 });
    await pub.publishAsync('sensors/dev7/temp', '{"temp": 31}', { qos: 1 });
    await pub.publishAsync('sensors/dev7/humidity', '{"temp": 99}', { qos: 1 });
    const [alert] = await sub.inbox.next(1);
    assert.deepEqual({ ...alert, retain: false }, { topic: 'alerts/dev7', payload: '{"t": 31, "from": "sensors/dev7/temp"}', qos: 1, retain: false, dup: false });
    assert.deepEqual({ ...props[0] }, { rule: 'hot_rooms', device: 'dev7' });
    await sub.inbox.expectNoMore(pub);
    const counters = ruleCounters(b.broker, 'hot_rooms');
    assert.deepEqual(counters.counters, { matched: 2, passed: 1, failed: 0, skippedLoop: 0 });
    assert.deepEqual(counters.actions[0]?.counters, { success: 1, failed: 0, retried: 0, dropped: 0 });
    // retain=true: a late subscriber gets the alert as a retained message.
    const late = await connectMqtt(b.url, { clientId: 'late' });
    await late.subscribeAsync('alerts/dev7');
    const [retained] = await late.inbox.next(1);
    assert.equal(retained?.retain, true);
    await endMqtt(late);
  } finally {
    await endMqtt(sub);
    await endMqtt(pub);
    await b.close();
  }
});

void test('a rule never re-triggers on its own republished messages; a cycle through two rules is bounded', only, async () => {
  const rules = rulesFrom([
    'rule echo',
    'sql SELECT payload FROM "loop/#"',
    'action republish loop/again',
    'rule ping',
    'sql SELECT payload FROM "ping/#"',
    'action republish pong/x',
    'rule pong',
    'sql SELECT payload FROM "pong/#"',
    'action republish ping/x',
  ]);
  const b = await startBroker({ rules });
  const sub = await connectMqtt(b.url, { clientId: 'sub' });
  const pub = await connectMqtt(b.url, { clientId: 'pub' });
  try {
    await sub.subscribeAsync('#');
    await pub.publishAsync('loop/start', 'x', { qos: 1 });
    await pub.publishAsync('ping/start', 'y', { qos: 1 });
    const got = await sub.inbox.next(5);
    assert.deepEqual(got.map((m) => m.topic).sort(), ['loop/again', 'loop/start', 'ping/start', 'ping/x', 'pong/x'].sort());
    await sub.inbox.expectNoMore(pub);
    assert.deepEqual(ruleCounters(b.broker, 'echo').counters, { matched: 1, passed: 1, failed: 0, skippedLoop: 1 });
    // ping/start -> ping -> pong/x -> pong -> ping/x: ping is already on the chain, skipped.
    assert.deepEqual(ruleCounters(b.broker, 'ping').counters, { matched: 1, passed: 1, failed: 0, skippedLoop: 1 });
    assert.deepEqual(ruleCounters(b.broker, 'pong').counters, { matched: 1, passed: 1, failed: 0, skippedLoop: 0 });
  } finally {
    await endMqtt(sub);
    await endMqtt(pub);
    await b.close();
  }
});

void test('event sources: $events/client_connected, client_disconnected, session_subscribed, session_unsubscribed', only, async () => {
  const rules = rulesFrom([
    'rule presence',
    'sql SELECT event, clientid, username, topic FROM "$events/client_connected", "$events/client_disconnected", "$events/session_subscribed", "$events/session_unsubscribed" WHERE clientid != \'watcher\'',
    'action republish presence/${clientid} payload=${event}:${topic}',
  ]);
  const b = await startBroker({ rules });
  const watcher = await connectMqtt(b.url, { clientId: 'watcher' });
  try {
    await watcher.subscribeAsync('presence/#');
    const device = await connectMqtt(b.url, { clientId: 'd1' });
    await device.subscribeAsync('x/y');
    await device.unsubscribeAsync('x/y');
    await endMqtt(device);
    const got = await watcher.inbox.next(4);
    assert.deepEqual(
      got.map((m) => `${m.topic} ${m.payload}`),
      ['presence/d1 client.connected:', 'presence/d1 session.subscribed:x/y', 'presence/d1 session.unsubscribed:x/y', 'presence/d1 client.disconnected:'],
    );
  } finally {
    await endMqtt(watcher);
    await b.close();
  }
});

void test('event sources on the hook chain: $events/message_delivered, message_acked, message_dropped, client_connack (clients\' messages only, so a rule cannot feed itself)', only, async () => {
  const rules = rulesFrom([
    'rule deliveries',
    'sql SELECT event, clientid, topic, reason FROM "$events/message_delivered", "$events/message_acked", "$events/message_dropped", "$events/client_connack"',
    'action republish report/${event} payload=${clientid}:${topic}:${reason}',
  ]);
  const b = await startBroker({ rules });
  const watcher = await connectMqtt(b.url, { clientId: 'watcher' });
  try {
    await watcher.subscribeAsync('report/#');
    const seen = new Set<string>();
    watcher.on('message', (topic, payload) => seen.add(`${topic} ${payload.toString()}`));
    const device = await connectMqtt(b.url, { clientId: 'd2' });
    await device.subscribeAsync('data/1', { qos: 1 });
    const publisher = await connectMqtt(b.url, { clientId: 'p2' });
    await publisher.publishAsync('data/1', 'x', { qos: 1 });
    await device.inbox.next(1);
    await publisher.publishAsync('nobody/here', 'y', { qos: 1 });
    await waitFor(() => seen.has('report/message.acked d2:data/1:') && seen.has('report/message.dropped :nobody/here:no-subscribers'), 10_000, `the message events (seen: ${[...seen].join(', ')})`);
    assert.ok(seen.has('report/message.delivered d2:data/1:'), [...seen].join(', '));
    assert.ok(seen.has('report/client.connack d2::'), [...seen].join(', '));
    // The reports themselves (the broker's own messages) were delivered to the watcher: no events for them.
    assert.ok(![...seen].some((line) => line.includes(':report/')), [...seen].join(', '));
    await endMqtt(publisher);
    await endMqtt(device);
  } finally {
    await endMqtt(watcher);
    await b.close();
  }
});

void test('a rule that republishes from inside a delivery (message_delivered) loses no copy of the message being routed', only, async () => {
  const rules = rulesFrom([
    'rule echo_delivery',
    'sql SELECT clientid FROM "$events/message_delivered" WHERE topic = \'a\'',
    'action republish x/${clientid}',
  ]);
  const b = await startBroker({ rules });
  const c1 = await connectMqtt(b.url, { clientId: 'c1' });
  const c2 = await connectMqtt(b.url, { clientId: 'c2' });
  const p = await connectMqtt(b.url, { clientId: 'p' });
  try {
    for (const c of [c1, c2]) await c.subscribeAsync(['a', 'x/#'], { qos: 1 });
    await p.publishAsync('a', 'm', { qos: 1 });
    const got1 = (await c1.inbox.next(3)).map((m) => m.topic).sort();
    const got2 = (await c2.inbox.next(3)).map((m) => m.topic).sort();
    assert.deepEqual(got1, ['a', 'x/c1', 'x/c2']);
    assert.deepEqual(got2, ['a', 'x/c1', 'x/c2']);
  } finally {
    for (const c of [c1, c2, p]) await endMqtt(c);
    await b.close();
  }
});

void test('a republished message goes out after the message that triggered it', only, async () => {
  const rules = rulesFrom(['rule copy', 'sql SELECT payload FROM "t/in"', 'action republish t/out']);
  const b = await startBroker({ rules });
  const sub = await connectMqtt(b.url, { clientId: 'sub' });
  const pub = await connectMqtt(b.url, { clientId: 'pub' });
  try {
    await sub.subscribeAsync('t/#', { qos: 1 });
    await pub.publishAsync('t/in', 'v', { qos: 1 });
    assert.deepEqual((await sub.inbox.next(2)).map((m) => m.topic), ['t/in', 't/out']);
  } finally {
    await endMqtt(sub);
    await endMqtt(pub);
    await b.close();
  }
});

void test('payloads that are not JSON, huge or deeply nested never crash a rule; evaluation errors count as failed', only, async () => {
  const rules = rulesFrom([
    'rule parse',
    'sql SELECT payload.v AS v, lower(payload.name) AS name FROM "in/#" WHERE is_not_null(v)',
    'action republish out/ok',
  ]);
  const b = await startBroker({ rules, maxPacketSize: 4 * 1024 * 1024 });
  const sub = await connectMqtt(b.url, { clientId: 'sub' });
  const pub = await connectMqtt(b.url, { clientId: 'pub' });
  try {
    await sub.subscribeAsync('out/#');
    const hostile = [
      Buffer.from([0xff, 0x00, 0xfe]),
      'not json',
      '['.repeat(200_000),
      '{"v":'.repeat(50_000) + '1' + '}'.repeat(50_000),
      `{"v":1,"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`,
      '{"v": 1, "name": 5}',
      '{"v": 2, "name": "OK"}',
    ];
    for (const payload of hostile) await pub.publishAsync('in/x', payload, { qos: 1 });
    const [ok] = await sub.inbox.next(1);
    assert.equal(ok?.payload, '{"v":2,"name":"ok"}');
    await waitFor(() => ruleCounters(b.broker, 'parse').counters.matched === hostile.length, 3000, 'all matched');
    assert.deepEqual(ruleCounters(b.broker, 'parse').counters, { matched: 7, passed: 1, failed: 1, skippedLoop: 0 });
    assert.match(b.logs(), /rule failed on a message.*lower\(\) expects a string/);
  } finally {
    await endMqtt(sub);
    await endMqtt(pub);
    await b.close();
  }
});

void test('counters are published in $SYS (rules and actions)', only, async () => {
  const rules = rulesFrom(['rule r1', 'sql SELECT * FROM "t/#" WHERE payload = \'go\'', 'action republish done/${topic}']);
  const b = await startBroker({ rules, sysInterval: 1 });
  const sub = await connectMqtt(b.url, { clientId: 'sys' });
  const pub = await connectMqtt(b.url, { clientId: 'pub' });
  try {
    await pub.publishAsync('t/1', 'go', { qos: 1 });
    await pub.publishAsync('t/2', 'stop', { qos: 1 });
    await sub.subscribeAsync('$SYS/broker/rules/#');
    await waitFor(() => sub.inbox.all.some((m) => m.topic === '$SYS/broker/rules/r1/matched' && m.payload === '2'), 4000, '$SYS matched = 2');
    const last = (topic: string): string | undefined => sub.inbox.all.filter((m) => m.topic === topic).at(-1)?.payload;
    assert.equal(last('$SYS/broker/rules/r1/passed'), '1');
    assert.equal(last('$SYS/broker/rules/r1/actions/1/success'), '1');
    assert.equal(last('$SYS/broker/rules/r1/failed'), '0');
    assert.equal(rulesOf(b.broker).rules.length, 1);
  } finally {
    await endMqtt(sub);
    await endMqtt(pub);
    await b.close();
  }
});
