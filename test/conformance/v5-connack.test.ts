/**
 * MQTT 5.0 CONNACK properties (section 3.2.2.3) and server-initiated DISCONNECT reasons (section
 * 3.14, 4.13), over raw sockets with hand-written bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly, mosquittoDiffers, startBroker } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { rawClient } from '../helpers/raw.js';
import { connect5, expectDisconnect, P, parseConnack5, parseDisconnect5, prop, publish5, raw5, readPublish5, rawSub5, subOptions, subscribe5 } from '../helpers/v5.js';

describe('v5 CONNACK properties', { concurrency: true }, () => {
  test('Receive Maximum is the broker\'s maxInflightMessages; Topic Alias Maximum is topicAliasMaximum', cicadaOnly('topicAliasMaximum option'), async (t) => {
    const h = await setup(t, { maxInflightMessages: 7, topicAliasMaximum: 5 });
    const { connack } = await raw5(h, { clientId: 'cprops' });
    assert.equal(prop(connack.props, P.RECEIVE_MAXIMUM), 7);
    assert.equal(prop(connack.props, P.TOPIC_ALIAS_MAXIMUM), 5);
    // Everything is supported: Maximum QoS, wildcard, subscription identifier and shared
    // subscription availability are absent (meaning available) or say 2 / 1.
    for (const [id, full] of [[P.MAXIMUM_QOS, 2], [P.RETAIN_AVAILABLE, 1], [P.WILDCARD_AVAILABLE, 1], [P.SUBSCRIPTION_ID_AVAILABLE, 1], [P.SHARED_AVAILABLE, 1]] as const) {
      const value = prop(connack.props, id);
      assert.ok(value === undefined || value === full, `property 0x${id.toString(16)} is ${String(value)}`);
    }
    assert.equal(prop(connack.props, P.ASSIGNED_CLIENT_ID), undefined, 'no Assigned Client Identifier for a client that has one');
  });

  // 3.2.2.3.6: an absent Maximum Packet Size means no limit beyond the protocol's. A value above
  // 268,435,455 makes paho-mqtt 1.6 reject the CONNACK (its network thread dies).
  test('default (no maxPacketSize): CONNACK has no Maximum Packet Size above the protocol limit 268435455', async (t) => {
    const h = await setup(t);
    const { connack } = await raw5(h, { clientId: 'mpsdefault' });
    const max = prop(connack.props, P.MAXIMUM_PACKET_SIZE);
    assert.ok(max === undefined || (typeof max === 'number' && max <= 268_435_455), `Maximum Packet Size ${String(max)}`);
  });

  test('[MQTT-3.2.2-16] an empty Client Identifier gets an Assigned Client Identifier, unique per connection', async (t) => {
    const h = await setup(t);
    const { connack: a } = await raw5(h, { clientId: '' });
    const { connack: b } = await raw5(h, { clientId: '' });
    const idA = prop(a.props, P.ASSIGNED_CLIENT_ID);
    const idB = prop(b.props, P.ASSIGNED_CLIENT_ID);
    assert.equal(typeof idA, 'string');
    assert.ok((idA as string).length > 0);
    assert.notEqual(idA, idB);
  });

  // [MQTT-3.2.2-21]: the client must use the Server Keep Alive; the broker enforces it.
  test('[MQTT-3.2.2-21] Server Keep Alive 1 when maxKeepalive 1 is lower than the 60 requested, and it is enforced (DISCONNECT 0x8D)', mosquittoDiffers('max_keepalive must be at least 10'), async (t) => {
    const h = await setup(t, { maxKeepalive: 1 });
    const { c, connack } = await raw5(h, { clientId: 'ska', keepalive: 60 });
    assert.equal(prop(connack.props, P.SERVER_KEEP_ALIVE), 1);
    await expectDisconnect(c, 0x8d, 3000);
    const { connack: low } = await raw5(h, { clientId: 'ska2', keepalive: 1 });
    assert.equal(prop(low.props, P.SERVER_KEEP_ALIVE), undefined, 'no Server Keep Alive when the request is within bounds');
  });

  // [MQTT-3.1.2-28]: Request Response Information 0 (or absent): no Response Information.
  test('[MQTT-3.1.2-28] Response Information only when requested: the configured prefix', cicadaOnly('responseInformation option'), async (t) => {
    const h = await setup(t, { responseInformation: 'replies/' });
    const { connack } = await raw5(h, { clientId: 'rinfo', props: [[P.REQUEST_RESPONSE_INFO, 1]] });
    const info = prop(connack.props, P.RESPONSE_INFO);
    assert.equal(typeof info, 'string');
    assert.ok((info as string).startsWith('replies/'), `Response Information ${String(info)}`);
    const { connack: none } = await raw5(h, { clientId: 'rinfo0', props: [[P.REQUEST_RESPONSE_INFO, 0]] });
    assert.equal(prop(none.props, P.RESPONSE_INFO), undefined);
    const { connack: absent } = await raw5(h, { clientId: 'rinfo-absent' });
    assert.equal(prop(absent.props, P.RESPONSE_INFO), undefined);
  });

  test('Retain Available 0 with retainAvailable: false; a retained PUBLISH then gets DISCONNECT 0x9A (retain not supported)', cicadaOnly('retainAvailable option'), async (t) => {
    const h = await setup(t, { retainAvailable: false });
    const { c, connack } = await raw5(h, { clientId: 'noretain' });
    assert.equal(prop(connack.props, P.RETAIN_AVAILABLE), 0);
    c.send(publish5({ topic: 'noretain/t', payload: 'r', retain: true }));
    await expectDisconnect(c, 0x9a);
  });
});

describe('v5 server DISCONNECT reasons', { concurrency: true }, () => {
  test('[MQTT-3.1.4-3] a second connection with the same Client Identifier: DISCONNECT 0x8E (session taken over) to the first', mosquittoDiffers('2.0.11 closes without DISCONNECT 0x8E'), async (t) => {
    const h = await setup(t);
    const { c: first } = await raw5(h, { clientId: 'taken' });
    await raw5(h, { clientId: 'taken' });
    await expectDisconnect(first, 0x8e);
  });

  test('broker.close(): DISCONNECT 0x8B (server shutting down) to every v5 client', cicadaOnly('broker.close() of the embedded broker'), async (t) => {
    const broker = await startBroker();
    t.after(() => broker.close().catch(() => undefined));
    const clients = [];
    for (const id of ['shut1', 'shut2']) {
      const c = await rawClient(broker.port);
      t.after(() => c.close());
      c.send(connect5({ clientId: id }));
      assert.equal(parseConnack5(await c.readPacket()).reason, 0);
      clients.push(c);
    }
    const closing = broker.close();
    for (const c of clients) await expectDisconnect(c, 0x8b);
    await closing;
  });

  // [MQTT-3.1.2-22]: no packet within 1.5 x Keep Alive: the connection is closed (5.0: 0x8D first).
  test('[MQTT-3.1.2-22] keep alive 1 s and a silent client: DISCONNECT 0x8D (keep alive timeout) within 1.5 s + sweep', mosquittoDiffers('2.0.11 closes without DISCONNECT 0x8D'), async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'silent', keepalive: 1 });
    const start = Date.now();
    await expectDisconnect(c, 0x8d, 2500);
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 1000, `closed after ${elapsed} ms, before the keep alive ran out`);
  });

  test('a protocol error from a v5 client gets DISCONNECT 0x82 before the close (second CONNECT)', mosquittoDiffers('2.0.11 closes without DISCONNECT'), async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'twice' });
    c.send(connect5({ clientId: 'twice' }));
    await expectDisconnect(c, 0x82);
  });

  test('maxPacketSize: a larger PUBLISH gets DISCONNECT 0x95 (packet too large); a smaller one is delivered', async (t) => {
    const h = await setup(t, { maxPacketSize: 200 });
    const sub = await rawSub5(h, 'mps-sub', 'mps/t', 0);
    const { c, connack } = await raw5(h, { clientId: 'mps-pub' });
    assert.equal(prop(connack.props, P.MAXIMUM_PACKET_SIZE), 200, 'CONNACK announces the Maximum Packet Size');
    c.send(publish5({ topic: 'mps/t', payload: 'small' }));
    assert.equal((await readPublish5(sub)).payload.toString(), 'small');
    c.send(publish5({ topic: 'mps/t', payload: Buffer.alloc(300, 0x61) }));
    await expectDisconnect(c, 0x95);
    await sub.expectNothingPending();
  });

  // [MQTT-3.8.3-5]: reserved bits in the Subscription Options make the SUBSCRIBE malformed;
  // Retain Handling 3 is a protocol error (3.8.3.1).
  for (const [what, options] of [['reserved bits 6-7 set', subOptions(1) | 0xc0], ['Retain Handling 3', subOptions(1) | 0x30]] as const) {
    test(`[MQTT-3.8.3-5] SUBSCRIBE with ${what} in the Subscription Options: DISCONNECT 0x81 or 0x82`, async (t) => {
      const h = await setup(t);
      const { c } = await raw5(h, { clientId: 'badopts' });
      c.send(subscribe5(1, [['opts/t', options]]));
      const d = parseDisconnect5(await c.readPacket());
      assert.ok([0x81, 0x82].includes(d.reason), `reason 0x${d.reason.toString(16)}`);
      await c.expectClose();
    });
  }

  // "It is a Protocol Error to include the Receive Maximum value more than once or for it to have
  // the value 0" (3.1.2.11.3), likewise Maximum Packet Size 0 (3.1.2.11.4): CONNACK >= 0x80, close.
  for (const [what, list] of [['Receive Maximum 0', [[P.RECEIVE_MAXIMUM, 0]]], ['Maximum Packet Size 0', [[P.MAXIMUM_PACKET_SIZE, 0]]], ['two Session Expiry Intervals', [[P.SESSION_EXPIRY, 1], [P.SESSION_EXPIRY, 2]]]] as const) {
    test(`CONNECT with ${what}: refused (no CONNACK, or CONNACK 0x81/0x82), connection closed`, async (t) => {
      const h = await setup(t);
      const c = await h.raw();
      c.send(connect5({ clientId: 'badprops', props: list.map(([id, v]) => [id, v] as [number, number]) }));
      // The CONNACK with a reason is optional (4.13.1: the Server MAY send it): closing at once is fine too.
      const p = await c.readPacket().catch(() => undefined);
      if (p !== undefined) {
        const connack = parseConnack5(p);
        assert.ok([0x81, 0x82].includes(connack.reason), `CONNACK reason 0x${connack.reason.toString(16)}`);
      }
      await c.expectClose();
    });
  }
});
