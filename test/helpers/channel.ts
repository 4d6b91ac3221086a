/**
 * The protocol core without sockets: a BrokerCore and Channels whose Outbox records the packets
 * the broker writes, decoded. For unit tests that drive the core with plain calls.
 */
import { decode, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';
import type { Channel, Outbox } from '../../src/broker/channel.js';
import { BrokerCore, type CoreSeams } from '../../src/broker/core.js';
import { silentLogger } from '../../src/broker/logger.js';
import { resolveCoreOptions } from '../../src/broker/options.js';
import type { BrokerOptions } from '../../src/config/schema.js';
import type { Storage } from '../../src/broker/storage.js';

export class RecordingOutbox implements Outbox {
  readonly packets: Packet[] = [];
  ended = false;
  pendingBytes = 0;
  waitsForCommit = false;

  constructor(private readonly version: () => ProtocolVersion) {}

  write(bytes: Buffer): void {
    this.packets.push(decode(bytes, this.version()));
  }

  end(): void {
    this.ended = true;
  }

  pauseInput(): void {}
  resumeInput(): void {}

  /** The packets of one type written so far. */
  of<T extends Packet['type']>(type: T): Array<Extract<Packet, { type: T }>> {
    return this.packets.filter((p): p is Extract<Packet, { type: T }> => p.type === type);
  }
}

/** A core without $SYS; `seams.clock` gives it a fake clock (./fake-clock.ts). */
export function unitCore(options: BrokerOptions = {}, storage?: Storage, seams?: CoreSeams): BrokerCore {
  return new BrokerCore(resolveCoreOptions({ sysInterval: 0, ...options }), silentLogger, storage, seams);
}

/** A channel that has sent CONNECT (clean unless `clean` is false) and got its CONNACK. */
export function connectedChannel(
  core: BrokerCore,
  clientId: string,
  version: ProtocolVersion = 5,
  clean = true,
  sessionExpiryInterval = 0,
): { channel: Channel; outbox: RecordingOutbox } {
  const outbox = new RecordingOutbox(() => channel.version);
  const channel: Channel = core.openChannel(outbox, '127.0.0.1');
  const properties = version === 5 && sessionExpiryInterval > 0 ? { properties: { sessionExpiryInterval } } : {};
  channel.handle({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean, keepalive: 0, clientId, ...properties });
  if (outbox.of('connack')[0]?.reasonCode !== 0) throw new Error(`${clientId}: CONNECT was not accepted`);
  return { channel, outbox };
}
