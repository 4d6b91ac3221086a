/**
 * SUBSCRIBE / SUBACK and UNSUBSCRIBE / UNSUBACK at the byte level (MQTT 3.1.1 sections 3.8 to 3.11).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { publish, subscribe, suback, unsubscribe, unsuback } from '../helpers/packets.js';

describe('SUBSCRIBE and SUBACK', () => {
  // [MQTT-3.8.4-1] "When the Server receives a SUBSCRIBE Packet from a Client, the Server MUST respond
  // with a SUBACK Packet." [MQTT-3.8.4-2] "The SUBACK Packet MUST have the same Packet Identifier as
  // the SUBSCRIBE Packet." [MQTT-3.8.4-5] "The SUBACK Packet sent by the Server to the Client MUST
  // contain a return code for each Topic Filter/QoS pair. This return code MUST either show the
  // maximum QoS that was granted for that Subscription or indicate that the subscription failed."
  // [MQTT-3.9.3-1] "The order of return codes in the SUBACK Packet MUST match the order of Topic
  // Filters in the SUBSCRIBE Packet." [MQTT-3.8.4-4] "If a Server receives a SUBSCRIBE packet that
  // contains multiple Topic Filters it MUST handle that packet as if it had received a sequence of
  // multiple SUBSCRIBE packets, except that it combines their responses into a single SUBACK
  // response."
  test('[MQTT-3.8.4-1][MQTT-3.8.4-2][MQTT-3.8.4-4][MQTT-3.8.4-5][MQTT-3.9.3-1] one SUBACK, same id, one code per filter in order', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'multi' });
    c.send(subscribe(0xbeef, [['s/two', 2], ['s/zero', 0], ['s/one', 1], ['s/+/x', 2], ['#', 0]]));
    await c.expect(suback(0xbeef, 2, 0, 1, 2, 0));
    // Each filter is a real subscription.
    const p = await h.rawConnect({ clientId: 'p' });
    p.send(publish({ topic: 's/one', payload: '1', qos: 1, id: 1 }));
    const m = await c.readPublish();
    assert.deepEqual([m.topic, m.qos], ['s/one', 1]);
  });

  // [MQTT-3.9.3-2] "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are reserved and MUST
  // NOT be used." A refused subscription is reported as 0x80 (failure) in place, the others granted.
  test('[MQTT-3.9.3-2][MQTT-3.8.4-5] a refused filter gets 0x80, the others are granted', cicadaOnly('needs the authorizeSubscribe hook'), async (t) => {
    const h = await setup(t, { authorizeSubscribe: (_client, filter) => !filter.startsWith('secret/') });
    const c = await h.rawConnect({ clientId: 'denied' });
    c.send(subscribe(5, [['open/a', 1], ['secret/b', 1], ['open/c', 2]]));
    await c.expect(suback(5, 1, 0x80, 2));
    const p = await h.rawConnect({ clientId: 'p' });
    p.send(publish({ topic: 'secret/b', payload: 'hidden' }));
    p.send(publish({ topic: 'open/a', payload: 'visible' }));
    const m = await c.readPublish();
    assert.equal(m.topic, 'open/a', 'the refused filter must not deliver');
  });
});

describe('UNSUBSCRIBE and UNSUBACK', () => {
  // [MQTT-3.10.4-4] "The Server MUST send an UNSUBACK packet. The UNSUBACK Packet MUST have the same
  // Packet Identifier as the UNSUBSCRIBE Packet." [MQTT-3.10.4-2] "... The Server MUST stop adding
  // any new messages for delivery to the Client."
  test('[MQTT-3.10.4-2][MQTT-3.10.4-4] UNSUBACK with the same id; no more messages afterwards', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'unsub' });
    c.send(subscribe(1, [['u/t', 0]]));
    await c.expect(suback(1, 0));
    c.send(unsubscribe(0x0102, ['u/t']));
    await c.expect(unsuback(0x0102));
    const p = await h.rawConnect({ clientId: 'p' });
    p.send(publish({ topic: 'u/t', payload: 'after' }));
    await p.expectNothingPending(); // the broker has routed the publication
    await c.expectNothingPending();
  });

  // [MQTT-3.10.4-5] "Even where no Topic Filters are deleted, the Server MUST respond with an
  // UNSUBACK."
  test('[MQTT-3.10.4-5] UNSUBACK even when nothing was subscribed', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'nothing' });
    c.send(unsubscribe(77, ['never/subscribed', 'nor/+/this']));
    await c.expect(unsuback(77));
  });

  // [MQTT-3.10.4-1] "The Topic Filter (whether containing a wild-card or not) supplied in an
  // UNSUBSCRIBE packet MUST be compared byte-for-byte with the current set of Topic Filters held by
  // the Server for the Client. If any filter matches exactly then it is deleted, otherwise no
  // additional processing occurs."
  test('[MQTT-3.10.4-1] unsubscribing a/b does not remove the a/+ subscription', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'bytes' });
    c.send(subscribe(1, [['a/+', 0]]));
    await c.expect(suback(1, 0));
    c.send(unsubscribe(2, ['a/b', 'a/#']));
    await c.expect(unsuback(2));
    const p = await h.rawConnect({ clientId: 'p' });
    p.send(publish({ topic: 'a/b', payload: 'still' }));
    assert.equal((await c.readPublish()).payload.toString(), 'still');
  });

  // [MQTT-3.10.4-6] "If a Server receives an UNSUBSCRIBE packet that contains multiple Topic Filters
  // it MUST handle that packet as if it had received a sequence of multiple UNSUBSCRIBE packets,
  // except that it sends just one UNSUBACK response."
  test('[MQTT-3.10.4-6] several filters in one UNSUBSCRIBE: all removed, one UNSUBACK', async (t) => {
    const h = await setup(t);
    const c = await h.rawConnect({ clientId: 'several' });
    c.send(subscribe(1, [['m/1', 0], ['m/2', 0], ['m/3', 0]]));
    await c.expect(suback(1, 0, 0, 0));
    c.send(unsubscribe(2, ['m/1', 'm/3']));
    await c.expect(unsuback(2));
    const p = await h.rawConnect({ clientId: 'p' });
    p.send(publish({ topic: 'm/1', payload: '1' }));
    p.send(publish({ topic: 'm/3', payload: '3' }));
    p.send(publish({ topic: 'm/2', payload: '2' }));
    assert.equal((await c.readPublish()).topic, 'm/2');
    await c.expectNothingPending();
  });
});
