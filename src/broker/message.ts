/**
 * An application message inside the broker: immutable once routed, stored once and referenced by
 * every session that delivers it ("store once, reference many"). Deliveries only hold the
 * message plus their own QoS, packet id and flags.
 *
 * Wire cache: the PUBLISH bytes for a given wire shape (protocol family x QoS x RETAIN flag) are
 * encoded once and shared by every subscriber of that shape. QoS 0 deliveries write the shared
 * bytes as they are; QoS 1/2 deliveries copy them and patch only the packet identifier.
 */
import { encode, publishPacketIdOffset } from '../protocol/index.js';
import type { Properties, ProtocolVersion, QoS } from '../protocol/packets.js';

export class Message {
  /** Encoded PUBLISH per wire shape: index = family * 6 + qos * 2 + retain. */
  private wire: Array<Buffer | undefined> | undefined;
  /** Id in the persistence store (0: not stored) and how many stored records refer to it. */
  storedId = 0;
  storedRefs = 0;

  constructor(
    readonly topic: string,
    readonly payload: Buffer,
    readonly qos: QoS,
    readonly retain: boolean,
    /** 5.0 properties forwarded to subscribers (never topic alias or subscription ids). */
    readonly properties: Properties | undefined,
    /** Client id of the publisher (for No Local); undefined for the broker's own messages. */
    readonly origin: string | undefined,
    /** Absolute expiry time in ms (Message Expiry Interval), or 0 for never. */
    readonly expiresAt: number,
  ) {}

  /**
   * The PUBLISH bytes for this message as sent to one client. The returned buffer is shared
   * when qos is 0 and must not be modified; for qos > 0 it is the caller's own copy.
   */
  wireBytes(version: ProtocolVersion, qos: QoS, retain: boolean, packetId: number): Buffer {
    const family = version === 5 ? 1 : 0;
    const index = family * 6 + qos * 2 + (retain ? 1 : 0);
    const cache = (this.wire ??= []);
    let bytes = cache[index];
    if (bytes === undefined) {
      bytes = encode(
        {
          type: 'publish',
          topic: this.topic,
          payload: this.payload,
          qos,
          retain,
          dup: false,
          ...(qos > 0 ? { packetId: 1 } : {}),
          ...(family === 1 && this.properties !== undefined ? { properties: this.properties } : {}),
        },
        version,
      );
      cache[index] = bytes;
    }
    if (qos === 0) return bytes;
    const own = Buffer.allocUnsafe(bytes.length);
    bytes.copy(own, 0);
    own.writeUInt16BE(packetId, publishPacketIdOffset(bytes));
    return own;
  }

  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }
}

/**
 * The properties of an incoming PUBLISH (or will) that are forwarded to subscribers: all but
 * Topic Alias and Subscription Identifier, which are per connection, and Message
 * Expiry Interval, which is rewritten per delivery. Returns undefined when nothing remains.
 */
export function forwardedProperties(properties: Properties): Properties | undefined {
  let out: Properties | undefined;
  for (const key in properties) {
    if (key === 'topicAlias' || key === 'subscriptionIdentifiers' || key === 'messageExpiryInterval' || key === 'willDelayInterval') continue;
    out ??= {};
    (out as Record<string, unknown>)[key] = (properties as Record<string, unknown>)[key];
  }
  return out;
}

/**
 * Whether a copy of `message` sent at `qos` waits for the persistence commit (src/broker/
 * persistence.ts): a QoS 2 PUBLISH (exactly once), and any copy of a QoS 2 publication, which a
 * crash before the commit of its incoming packet id would let the publisher's re-send route again
 * [MQTT-4.3.3-2]. Other QoS 0/1 copies leave at once.
 */
export function copyWaitsForCommit(message: Message, qos: QoS): boolean {
  return qos === 2 || message.qos === 2;
}

/** 5.0 properties of one delivery: the message's, its subscription ids, the remaining expiry at `now`. */
export function deliveryProperties(message: Message, subscriptionIds: readonly number[] | undefined, now: number): Properties {
  const properties = { ...message.properties };
  if (subscriptionIds !== undefined) properties.subscriptionIdentifiers = [...subscriptionIds];
  if (message.expiresAt !== 0) {
    // Subscribers get the remaining interval [MQTT-3.3.2-6].
    properties.messageExpiryInterval = Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
  }
  return properties;
}
