/**
 * Intervals past 24.8 days (2^31-1 ms, the most Node's setTimeout holds: it turns longer delays
 * into 1 ms): Session Expiry (3.1.2.11.2, 3.14.2.2.2), Will Delay (3.1.3.2.2) and Message Expiry
 * (3.3.2.3.3) of 30 days and 999,999,999 s must not end at once. Nothing here waits for real
 * time: each test reconnects and checks what is still there (test/broker/long-timer.test.ts
 * checks the timer itself on a fake clock).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cicadaOnly } from '../helpers/broker.js';
import { setup, type Harness } from '../helpers/harness.js';
import { T } from '../helpers/packets.js';
import type { RawClient } from '../helpers/raw.js';
import { disconnect5, P, parseAck5, prop, publish5, raw5, rawSub5, readPublish5, readType, subOptions, subscribe5, type Props } from '../helpers/v5.js';

const THIRTY_DAYS = 2_592_000;
const LONG = 999_999_999;
const sei = (seconds: number): Props => [[P.SESSION_EXPIRY, seconds]];

/** A v5 client with a session of `expiry` s, subscribed at QoS 1, gone with DISCONNECT (optionally changing the expiry). */
async function park(h: Harness, clientId: string, filter: string, expiry: number, atDisconnect?: number): Promise<void> {
  const { c } = await raw5(h, { clientId, clean: true, props: sei(expiry) });
  c.send(subscribe5(1, [[filter, subOptions(1)]]));
  assert.deepEqual(parseAck5(await readType(c, T.SUBACK)).reasons, [1]);
  c.send(disconnect5(0, atDisconnect === undefined ? [] : sei(atDisconnect)));
  await c.expectClose();
}

/** Publish QoS 1 messages (PUBACK awaited: the broker has queued them for the parked session). */
async function publishAll(h: Harness, topic: string, payloads: string[], list: Props = []): Promise<void> {
  const { c } = await raw5(h, { clientId: `${topic.replace(/\//g, '-')}-pub` });
  for (const [i, payload] of payloads.entries()) {
    c.send(publish5({ topic, payload, qos: 1, id: i + 1, props: list }));
    assert.equal(parseAck5(await readType(c, T.PUBACK)).id, i + 1);
  }
  c.close();
}

/** Reconnect with Clean Start 0: Session Present 1, and the queued messages in order. */
async function resumeAndRead(h: Harness, clientId: string, expected: string[]): Promise<{ c: RawClient; props: Props[] }> {
  const { c } = await raw5(h, { clientId, clean: false, props: sei(60) }, true);
  const got: string[] = [];
  const props: Props[] = [];
  for (let i = 0; i < expected.length; i++) {
    const m = await readPublish5(c);
    got.push(m.payload.toString());
    props.push(m.props);
  }
  assert.deepEqual(got, expected);
  return { c, props };
}

describe('v5 intervals longer than 24.8 days', { concurrency: true }, () => {
  test('[MQTT-3.1.2-23] Session Expiry Interval 30 days at CONNECT: the session and its queued QoS 1 messages are there at reconnection', async (t) => {
    const h = await setup(t);
    await park(h, 'long-30d', 'long30d/t', THIRTY_DAYS);
    await publishAll(h, 'long30d/t', ['a', 'b', 'c']);
    await resumeAndRead(h, 'long-30d', ['a', 'b', 'c']);
  });

  test('[MQTT-3.1.2-23] Session Expiry Interval set to 999999999 at DISCONNECT: the session and its queued messages are there at reconnection', async (t) => {
    const h = await setup(t);
    await park(h, 'long-999', 'long999/t', 60, LONG);
    await publishAll(h, 'long999/t', ['one', 'two']);
    await resumeAndRead(h, 'long-999', ['one', 'two']);
  });

  test('Message Expiry Interval 999999999 on a queued message: delivered at reconnection with what remains of it', async (t) => {
    const h = await setup(t);
    await park(h, 'long-mei', 'longmei/t', THIRTY_DAYS);
    await publishAll(h, 'longmei/t', ['kept'], [[P.MESSAGE_EXPIRY, LONG]]);
    const { props } = await resumeAndRead(h, 'long-mei', ['kept']);
    const remaining = prop(props[0]!, P.MESSAGE_EXPIRY) as number;
    assert.ok(remaining <= LONG && remaining >= LONG - 10, `Message Expiry Interval ${remaining}`);
  });

  // [MQTT-3.1.3-9]: a reconnection to the session before the Will Delay Interval passes: no will.
  test('[MQTT-3.1.3-9] Will Delay 30 days, Session Expiry 999999999: the will is not published at once, and reconnecting cancels it', async (t) => {
    const h = await setup(t);
    const watcher = await rawSub5(h, 'long-will-watch', 'longwill/t', 0);
    const { c } = await raw5(h, { clientId: 'long-will', props: sei(LONG), will: { topic: 'longwill/t', payload: 'too early', props: [[P.WILL_DELAY, THIRTY_DAYS]] } });
    c.send(disconnect5(0x04)); // disconnect with will message: the will waits for its delay
    await c.expectClose();
    // A round trip through the broker after the will became due: a will fired at once is already out.
    await publishAll(h, 'longwill/other', ['ping']);
    await raw5(h, { clientId: 'long-will', clean: false, props: sei(60) }, true);
    await watcher.expectNothingPending();
  });

  test('sys_interval 2^31 s: $SYS is published once at start, not every millisecond', cicadaOnly('sys_interval is set through the embedded options'), async (t) => {
    const h = await setup(t, { sysInterval: 2 ** 31 });
    // The heap size changes all the time: a timer that fired at once would republish it at once.
    const c = await rawSub5(h, 'long-sys', '$SYS/broker/heap/current', 0);
    await readPublish5(c); // the retained value
    await c.expectSilence(300); // time is the behaviour: a timer that fired at once would have republished by now
  });
});
