/**
 * The receiving side of the client's session: incoming PUBLISH -> Message and the acknowledgement
 * to send, topic aliases the server set up, and QoS 2 packet ids awaiting PUBREL.
 *
 * - QoS 2 uses Method B of the standard: the message is delivered on the first PUBLISH with a
 *   packet id, and again-sent PUBLISHes with that id are acknowledged but not delivered, until
 *   PUBREL frees the id [MQTT-4.3.3-9]. The ids survive a reconnect only when the session does.
 * - Alias mappings last one connection [MQTT-3.3.2-7]; a zero-length topic with an alias that has
 *   no mapping is a Protocol Error (section 3.3.2.3.4): the caller disconnects with 0x94.
 */
import type { AckPacket, Properties, ProtocolVersion, PublishPacket, QoS } from '../protocol/index.js';

export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  properties?: Properties;
}

export type InboundResult =
  | { kind: 'deliver'; message: Message | undefined; reply: AckPacket | undefined }
  | { kind: 'unknown-alias' };

export class Inbound {
  private readonly qos2 = new Set<number>();
  private readonly aliases = new Map<number, string>();

  constructor(private readonly version: ProtocolVersion) {}

  /** A new connection: aliases are forgotten; QoS 2 ids too unless the session was resumed. */
  reset(sessionPresent: boolean): void {
    this.aliases.clear();
    if (!sessionPresent) this.qos2.clear();
  }

  publish(packet: PublishPacket): InboundResult {
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (topic === '') topic = this.aliases.get(alias) ?? '';
      else this.aliases.set(alias, topic);
    }
    if (topic === '') return { kind: 'unknown-alias' };
    const message: Message = { topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: packet.dup };
    if (packet.properties !== undefined) message.properties = packet.properties;
    const id = packet.packetId ?? 0;
    if (packet.qos === 0) return { kind: 'deliver', message, reply: undefined };
    if (packet.qos === 1) return { kind: 'deliver', message, reply: this.ack('puback', id) };
    const first = !this.qos2.has(id);
    this.qos2.add(id);
    return { kind: 'deliver', message: first ? message : undefined, reply: this.ack('pubrec', id) };
  }

  /** PUBREL: the id is free again; answer PUBCOMP. */
  release(packetId: number): AckPacket {
    this.qos2.delete(packetId);
    return this.ack('pubcomp', packetId);
  }

  ack(type: AckPacket['type'], packetId: number): AckPacket {
    return { type, packetId, ...(this.version === 5 ? { reasonCode: 0 } : {}) };
  }
}
