/**
 * Protocol edge cases found by review, over raw sockets with hand-written bytes: assigned client
 * identifiers, retained wills without retain support, DISCONNECT reason codes and the will,
 * optional properties past the client's Maximum Packet Size, Receive Maximum on resumed sessions,
 * max_keepalive with 3.1.1 clients, and the reason codes of malformed topics and filters.
 */
import { describe, test } from 'node:test';
import { mosquittoDiffers } from '../helpers/broker.js';
import { setup } from '../helpers/harness.js';
import { packet, str, T } from '../helpers/packets.js';
import { expectDisconnect, raw5, subscribe5, unsubscribe5 } from '../helpers/v5.js';

describe('reason codes of malformed topics and filters', { concurrency: true }, () => {
  // [MQTT-4.7.1-2] "#" must be the last character of a filter; 0x8F (Topic Filter invalid) is for
  // a filter that "is correctly formed, but is not accepted": a badly formed one is malformed.
  test('[MQTT-4.7.1-2] SUBSCRIBE and UNSUBSCRIBE with the filter a/#/b: DISCONNECT 0x81, not 0x8F', async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'bad-sub' });
    c.send(subscribe5(1, [['a/#/b', 0]]));
    await expectDisconnect(c, 0x81);
    const { c: u } = await raw5(h, { clientId: 'bad-unsub' });
    u.send(unsubscribe5(1, ['a/#/b']));
    await expectDisconnect(u, 0x81);
  });

  // [MQTT-4.8.2-1] a Shared Subscription's ShareName is at least one character long.
  test('[MQTT-4.8.2-1] SUBSCRIBE $share//a (empty share name): DISCONNECT 0x81', mosquittoDiffers('2.0.11 grants $share//a'), async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'bad-share' });
    c.send(subscribe5(1, [['$share//a', 0]]));
    await expectDisconnect(c, 0x81);
  });

  // [MQTT-3.3.2-2] "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters":
  // a Protocol Error (0x82, as Mosquitto answers), not 0x90 ("correctly formed, but not accepted").
  test('[MQTT-3.3.2-2] PUBLISH to a/#: DISCONNECT 0x82, not 0x90', async (t) => {
    const h = await setup(t);
    const { c } = await raw5(h, { clientId: 'bad-topic' });
    c.send(packet(T.PUBLISH, 0, str('a/#'), Buffer.from([0]), Buffer.from('x')));
    await expectDisconnect(c, 0x82);
  });
});
