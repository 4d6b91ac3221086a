/**
 * Acknowledgements of QoS 1 and 2 flows (section 4.3): PUBACK, PUBREC and PUBCOMP for messages
 * the broker sent, PUBREL for messages it received.
 */
import type { AckPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';

/** PUBACK / PUBREC / PUBCOMP from the client for an outgoing message. */
export function handleAck(channel: Channel, packet: AckPacket): void {
  const session = channel.session;
  if (session === undefined) return;
  channel.flowStalled = false; // progress, for flow control
  if (packet.type === 'pubrec') {
    const known = session.received(packet.packetId);
    // 5.0: a PUBREC with a failure code (>= 0x80) ends the flow; no PUBREL follows.
    if (known && packet.reasonCode !== undefined && packet.reasonCode >= 0x80) {
      session.complete(packet.packetId);
      return;
    }
    // The sender answers PUBREC with PUBREL [MQTT-4.3.3-1], even for an unknown id (5.0 says so with 0x92).
    if (channel.version === 5) {
      channel.send({ type: 'pubrel', packetId: packet.packetId, reasonCode: known ? 0 : ReasonCode.PacketIdentifierNotFound });
    } else channel.send({ type: 'pubrel', packetId: packet.packetId });
    return;
  }
  const hooks = channel.core.hooks;
  const delivery = hooks.onAcked ? session.inflight.get(packet.packetId) : undefined;
  // PUBACK ends a QoS 1 delivery, PUBCOMP a QoS 2 one (after PUBREC and PUBREL): acknowledged once.
  const acked = delivery !== undefined && (packet.type === 'puback' ? delivery.qos === 1 : delivery.state === 'pubrel');
  session.complete(packet.packetId);
  if (acked) hooks.notify('message.acked', channel.info(), delivery.message);
}

/** PUBREL: the client releases an incoming QoS 2 message; answer PUBCOMP [MQTT-4.3.3-2]. */
export function handlePubrel(channel: Channel, packet: AckPacket): void {
  const session = channel.session;
  const known = session?.released(packet.packetId) ?? false;
  if (known && session !== undefined) channel.core.persistence?.dropIncoming(session, packet.packetId);
  // The PUBCOMP gives the client back one unit of its send quota, never above its Receive Maximum.
  if (channel.inboundQos2 > 0) channel.inboundQos2--;
  if (channel.version === 5) {
    channel.send({ type: 'pubcomp', packetId: packet.packetId, reasonCode: known ? 0 : ReasonCode.PacketIdentifierNotFound });
  } else channel.send({ type: 'pubcomp', packetId: packet.packetId });
}
