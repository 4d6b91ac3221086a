// The core's Outbound (issue 14, seam 4): the commit gate and back-pressure of a byte-stream peer
// live in the core, so any writer gets them, not only a socket. Here the writer is an in-process
// Outbound that records what it is handed and completes writes when told: a stand-in for a
// bridge's or a cluster link's connection. No sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, type Packet } from '../../src/protocol/index.js';
import type { BrokerCore } from '../../src/broker/core.js';
import type { Channel } from '../../src/broker/channel.js';
import { Outbound } from '../../src/broker/outbound.js';
import { unitCore } from '../helpers/channel.js';
import { durableCore } from '../helpers/durable-core.js';
import { waitFor } from '../helpers/wait.js';

/** A writer that keeps every buffer it is given "in flight" until `complete`. */
class RecordingWire extends Outbound {
  readonly sent: Buffer[] = [];
  /** For each buffer sent: whether persistence had uncommitted writes then. */
  readonly sentUncommitted: boolean[] = [];
  private inFlight = 0;
  finished = false;
  inputPaused = 0;

  constructor(private readonly core: BrokerCore) {
    super(core);
  }

  protected get backlog(): number {
    return this.inFlight;
  }

  protected get gone(): boolean {
    return false;
  }

  protected send(bytes: Buffer): void {
    this.sent.push(bytes);
    this.sentUncommitted.push(this.core.persistence?.uncommitted === true);
    this.inFlight += bytes.length;
  }

  /** The peer took everything handed over. */
  complete(): void {
    this.inFlight = 0;
    this.written();
  }

  protected finish(last: Buffer | undefined): void {
    if (last !== undefined) this.sent.push(last);
    this.finished = true;
  }

  pauseInput(): void {
    this.inputPaused++;
  }

  resumeInput(): void {
    this.inputPaused--;
  }

  /** The packets handed over so far (each buffer holds whole packets). */
  packets(): Packet[] {
    const out: Packet[] = [];
    for (const buffer of this.sent) {
      let rest = buffer;
      while (rest.length > 0) {
        let length = 0;
        let multiplier = 1;
        let i = 1;
        for (; ; i++) {
          const byte = rest[i] as number;
          length += (byte & 0x7f) * multiplier;
          multiplier *= 128;
          if ((byte & 0x80) === 0) break;
        }
        const end = i + 1 + length;
        out.push(decode(rest.subarray(0, end), 5));
        rest = rest.subarray(end);
      }
    }
    return out;
  }
}

function wiredChannel(core: BrokerCore, clientId: string, clean: boolean): { channel: Channel; wire: RecordingWire; outbound: Outbound } {
  const wire = new RecordingWire(core);
  const channel = core.openChannel(wire, '127.0.0.1');
  wire.subscriber = channel;
  const properties = clean ? {} : { properties: { sessionExpiryInterval: 3600 } };
  channel.handle({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean, keepalive: 0, clientId, ...properties });
  return { channel, wire, outbound: wire };
}

const flushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void test('[MQTT-4.3.3-2] an Outbound hands its writer no PUBREC before the commit of the QoS 2 packet id it reports', async (t) => {
  const core = durableCore(t);
  const { channel, wire, outbound } = wiredChannel(core, 'bridge-link', false);
  await waitFor(() => wire.packets().some((p) => p.type === 'connack'), 2000, 'CONNACK after the session is committed');
  wire.complete();
  channel.handle({ type: 'pingreq' });
  channel.handle({ type: 'publish', topic: 'x', payload: Buffer.from('2'), qos: 2, retain: false, dup: false, packetId: 9 });
  assert.equal(core.persistence?.uncommitted, true);
  outbound.flush(); // as the end of this turn would, before any commit could run
  assert.deepEqual(wire.packets().map((p) => p.type), ['connack', 'pingresp'], 'the PINGRESP before it went, the PUBREC waits');
  wire.complete();
  await waitFor(() => wire.packets().some((p) => p.type === 'pubrec'), 2000, 'the PUBREC after the commit');
  // Buffers: CONNACK, PINGRESP, PUBREC. Only the PINGRESP, which reports nothing, left uncommitted.
  assert.deepEqual(wire.sentUncommitted, [false, true, false], 'CONNACK and PUBREC left after their commits');
});

void test('an Outbound writes one buffer at a time, and a congested one pauses the publisher until its writer catches up', async () => {
  const core = unitCore();
  const { channel: subscriber, wire } = wiredChannel(core, 'slow-link', true);
  subscriber.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'f', qos: 0 }] });
  await flushed();
  wire.complete();
  const { channel: publisher, wire: publisherWire } = wiredChannel(core, 'publisher', true);
  const paused = (): number => publisherWire.inputPaused;
  const payload = Buffer.alloc(300 * 1024);
  const publish = (): void => publisher.handle({ type: 'publish', topic: 'f', payload, qos: 0, retain: false, dup: false });
  publish();
  await flushed();
  const sentBefore = wire.sent.length;
  publish();
  publish();
  await flushed();
  assert.equal(wire.sent.length, sentBefore, 'nothing more while the last write is with the writer');
  assert.equal(paused(), 0, '900 KiB unsent: under the high-water mark');
  publish();
  assert.equal(paused(), 1, 'past 1 MiB unsent: the publisher stops being read');
  wire.complete(); // the first 300 KiB left; 900 KiB queued go to the writer now
  assert.equal(paused(), 1, 'still over the low-water mark');
  wire.complete();
  assert.equal(paused(), 0, 'caught up: the publisher is read again');
  assert.equal(subscriber.flowStalled, false);
  core.stop();
});

void test('an Outbound that ends hands its writer what may go, then closes it', () => {
  const core = unitCore();
  const { channel, wire } = wiredChannel(core, 'closing', true);
  channel.handle({ type: 'disconnect', reasonCode: 0 });
  assert.equal(wire.finished, true);
  assert.deepEqual(wire.packets().map((p) => p.type), ['connack'], 'the CONNACK still queued went out with the close');
  core.stop();
});
