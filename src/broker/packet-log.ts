/**
 * Verbose packet logging (`cicada broker -v`, log_type debug), in Mosquitto's words (its
 * src/handle_*.c and src/send_*.c lines), e.g.
 *   Received PUBLISH from c1 (d0, q1, r0, m3, 'a/b', ... (5 bytes))
 *   Sending PUBACK to c1 (m3, rc0)
 * and the subscribe / unsubscribe log types (`c1 1 a/#`, `c1 a/#`). The channel calls these only
 * when `BrokerCore.logPackets` is set, so a broker that does not log them pays one boolean test
 * per packet.
 */
import type { Packet, QoS } from '../protocol/packets.js';
import type { Channel } from './channel.js';
import type { Message } from './message.js';

function who(channel: Channel): string {
  return channel.clientId !== '' ? channel.clientId : channel.remoteAddress;
}

function publishLine(dup: boolean, qos: QoS, retain: boolean, packetId: number, topic: string, bytes: number): string {
  return `(d${dup ? 1 : 0}, q${qos}, r${retain ? 1 : 0}, m${packetId}, '${topic}', ... (${bytes} bytes))`;
}

/** A packet from the client. */
export function logReceived(channel: Channel, packet: Packet): void {
  const log = channel.core.log;
  const id = who(channel);
  switch (packet.type) {
    case 'connect':
      log.debug(`Received CONNECT from ${channel.remoteAddress} as ${packet.clientId} (p${packet.protocolVersion === 3 ? 1 : packet.protocolVersion === 4 ? 2 : 5}, c${packet.clean ? 1 : 0}, k${packet.keepalive}${packet.username !== undefined ? `, u'${packet.username}'` : ''})`);
      return;
    case 'publish':
      log.debug(`Received PUBLISH from ${id} ${publishLine(packet.dup, packet.qos, packet.retain, packet.packetId ?? 0, packet.topic, packet.payload.length)}`);
      return;
    case 'puback':
    case 'pubcomp':
      log.debug(`Received ${packet.type.toUpperCase()} from ${id} (Mid: ${packet.packetId}, RC:${packet.reasonCode ?? 0})`);
      return;
    case 'pubrec':
    case 'pubrel':
      log.debug(`Received ${packet.type.toUpperCase()} from ${id} (Mid: ${packet.packetId})`);
      return;
    case 'subscribe':
      log.debug(`Received SUBSCRIBE from ${id}`);
      for (const sub of packet.subscriptions) {
        log.debug(`\t${sub.topicFilter} (QoS ${sub.qos})`);
        log.info({ type: 'subscribe' }, `${id} ${sub.qos} ${sub.topicFilter}`);
      }
      return;
    case 'unsubscribe':
      log.debug(`Received UNSUBSCRIBE from ${id}`);
      for (const filter of packet.topicFilters) {
        log.debug(`\t${filter}`);
        log.info({ type: 'unsubscribe' }, `${id} ${filter}`);
      }
      return;
    case 'disconnect':
    case 'auth':
      log.debug(`Received ${packet.type.toUpperCase()} from ${id}${packet.reasonCode !== undefined ? ` (rc${packet.reasonCode})` : ''}`);
      return;
    default:
      log.debug(`Received ${packet.type.toUpperCase()} from ${id}`);
  }
}

/** A control packet to the client (PUBLISH goes through logSentPublish). */
export function logSent(channel: Channel, packet: Packet): void {
  const log = channel.core.log;
  const id = who(channel);
  switch (packet.type) {
    case 'connack':
      log.debug(`Sending CONNACK to ${id} (${packet.sessionPresent ? 1 : 0}, ${packet.reasonCode})`);
      return;
    case 'puback':
    case 'pubrec':
      log.debug(`Sending ${packet.type.toUpperCase()} to ${id} (m${packet.packetId}, rc${packet.reasonCode ?? 0})`);
      return;
    case 'pubrel':
    case 'pubcomp':
      log.debug(`Sending ${packet.type.toUpperCase()} to ${id} (m${packet.packetId})`);
      return;
    case 'disconnect':
      log.debug(`Sending DISCONNECT to ${id} (rc${packet.reasonCode ?? 0})`);
      return;
    default:
      log.debug(`Sending ${packet.type.toUpperCase()} to ${id}`);
  }
}

export function logSentPublish(channel: Channel, message: Message, qos: QoS, retain: boolean, packetId: number, dup: boolean): void {
  channel.core.log.debug(`Sending PUBLISH to ${who(channel)} ${publishLine(dup, qos, retain, packetId, message.topic, message.payload.length)}`);
}
