// The round trips the suite uses instead of sleeping to show that nothing (more) arrives
// (RawClient.expectNothingPending, Inbox.expectNoMore): they catch what the broker sent for
// earlier packets, and pass when there is nothing; against Cicada and Mosquitto alike.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from '../helpers/harness.js';
import { publish, puback, suback, subscribe } from '../helpers/packets.js';

describe('round trips instead of sleeps', { concurrency: true }, () => {
  test('expectNothingPending fails on a retained message (PUBLISH, RETAIN 1) sent after SUBACK, and passes once it was read', async (t) => {
    const h = await setup(t);
    const p = await h.rawConnect({ clientId: 'rt-pub' });
    p.send(publish({ topic: 'rt/kept', payload: 'kept', qos: 1, id: 1, retain: true }));
    await p.expect(puback(1));
    await p.expectNothingPending();
    const c = await h.rawConnect({ clientId: 'rt-sub' });
    c.send(subscribe(1, [['rt/#', 0]]));
    await c.expect(suback(1, 0));
    await assert.rejects(c.expectNothingPending(), /expected nothing from the broker before its PINGRESP, got 31/);
    const d = await h.rawConnect({ clientId: 'rt-sub2' });
    d.send(subscribe(1, [['rt/#', 0]]));
    await d.expect(suback(1, 0));
    assert.equal((await d.readPublish()).payload.toString(), 'kept');
    await d.expectNothingPending();
  });

  test('Inbox.expectNoMore fails on a message not handed out, routed before the round trip, and passes after', async (t) => {
    const h = await setup(t);
    const s = await h.mqtt({ clientId: 'rt-inbox' });
    await s.subscribeAsync('rt2/#', { qos: 1 });
    const pub = await h.mqtt({ clientId: 'rt-inbox-pub' });
    await pub.publishAsync('rt2/a', 'one', { qos: 0 });
    // QoS 0 is not acknowledged: the round trip on the publisher first makes the broker route it.
    await assert.rejects(s.inbox.expectNoMore(pub), /expected no further message/);
    assert.equal((await s.inbox.next(1))[0]?.payload, 'one');
    await s.inbox.expectNoMore(pub);
  });
});
