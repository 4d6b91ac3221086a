/**
 * Bookkeeping of the client's QoS flows: packet identifiers, outgoing publishes awaiting their
 * acknowledgement, and topic aliases.
 *
 * - A packet identifier is in use from the SUBSCRIBE/UNSUBSCRIBE/PUBLISH that takes it until its
 *   acknowledgement ends the flow [MQTT-2.2.1-3]; ids are handed out round-robin, skipping those in
 *   use.
 * - `OutgoingFlow.stage` is what the client waits for: PUBACK (QoS 1), PUBREC then PUBCOMP (QoS 2).
 *   Flows are kept in send order, which is the order they are re-sent after a reconnect
 *   [MQTT-4.6.0-1].
 */
import type { Properties, PublishPacket, QoS } from '../protocol/index.js';
import { MqttClientError } from './errors.js';
import type { ClientProperties } from './options.js';

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** PUBLISH properties (5.0). A topicAlias here is managed by the client and overwritten. */
  properties?: ClientProperties;
}

/** How a publish ended: 0 for success; the server's reason code for a 5.0 acknowledgement. */
export interface PublishResult {
  reasonCode: number;
  properties?: Properties;
}

export interface OutgoingFlow {
  packet: PublishPacket;
  stage: 'puback' | 'pubrec' | 'pubcomp';
  resolve: (result: PublishResult) => void;
  reject: (error: MqttClientError) => void;
}

export class PacketIds {
  private next = 1;
  private readonly used = new Set<number>();

  get size(): number {
    return this.used.size;
  }

  allocate(): number {
    if (this.used.size >= 65535) throw new MqttClientError('NO_PACKET_ID', 'all 65535 packet identifiers are in use');
    while (this.used.has(this.next)) this.next = this.next === 65535 ? 1 : this.next + 1;
    const id = this.next;
    this.used.add(id);
    this.next = id === 65535 ? 1 : id + 1;
    return id;
  }

  release(id: number): void {
    this.used.delete(id);
  }

  clear(): void {
    this.used.clear();
  }
}

/**
 * Outgoing topic aliases (5.0): the first publish to a topic sends the topic and a new alias,
 * later ones an empty topic and the alias [MQTT-3.3.2-12]. Mappings last one connection
 * [MQTT-3.3.2-7]; at most the server's Topic Alias Maximum are used [MQTT-3.3.2-9].
 */
export class TopicAliases {
  private readonly aliases = new Map<string, number>();
  constructor(private readonly maximum: number) {}

  /** The packet to put on the wire for `packet` (a copy when an alias applies). */
  apply(packet: PublishPacket): PublishPacket {
    if (this.maximum === 0 || packet.topic === '') return packet;
    const known = this.aliases.get(packet.topic);
    if (known !== undefined) return { ...packet, topic: '', properties: { ...packet.properties, topicAlias: known } };
    if (this.aliases.size >= this.maximum) return packet;
    const alias = this.aliases.size + 1;
    this.aliases.set(packet.topic, alias);
    return { ...packet, properties: { ...packet.properties, topicAlias: alias } };
  }
}
