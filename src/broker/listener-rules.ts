/**
 * Per-listener rules of mosquitto.conf, applied to a packet before its handler runs, only on
 * channels of a listener that has one (the transport sets `Channel.listenerOptions` then):
 *
 * - `max_qos`: a PUBLISH (or a will) above it is refused: 5.0 DISCONNECT / CONNACK 0x9B (QoS not
 *   supported), 3.1.1 the connection is closed, as Mosquitto does; subscriptions are granted at
 *   most max_qos. 5.0 clients learn it from CONNACK's Maximum QoS (handlers/connect.ts).
 * - `mount_point`: the prefix is added to every topic and filter the client sends (PUBLISH,
 *   SUBSCRIBE, UNSUBSCRIBE, its will; inside `$share/group/`), and removed from the topics of the
 *   PUBLISHes it receives (`unmount`, from Channel.encodeDelivery), so the clients of the listener live in their own
 *   subtree and see topics without the prefix.
 */
import type { ConnectPacket, Packet } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Channel } from './channel.js';
import type { ListenerRules } from './options.js';

const SHARE = '$share/';

/** Whether a listener has rules this module applies. */
export function hasListenerRules(options: ListenerRules): boolean {
  return options.maxQos !== undefined || options.mountPoint !== undefined || options.maxTopicAlias !== undefined || options.useUsernameAsClientId === true;
}

function mount(prefix: string, filter: string): string {
  if (!filter.startsWith(SHARE)) return prefix + filter;
  const slash = filter.indexOf('/', SHARE.length);
  return slash === -1 ? prefix + filter : filter.slice(0, slash + 1) + prefix + filter.slice(slash + 1);
}

/** Apply the listener's rules to a packet from the client; false when the connection was ended. */
export function applyListenerRules(channel: Channel, options: ListenerRules, packet: Packet): boolean {
  const maxQos = options.maxQos ?? 2;
  const prefix = options.mountPoint;
  switch (packet.type) {
    case 'connect':
      return connectRules(channel, packet, maxQos, prefix);
    case 'publish':
      if (packet.qos > maxQos) {
        channel.fail(`PUBLISH with QoS ${packet.qos} above max_qos ${maxQos}`, ReasonCode.QoSNotSupported);
        return false;
      }
      // A PUBLISH with only a topic alias keeps its empty topic: the alias maps to the mounted topic.
      if (prefix !== undefined && packet.topic !== '') packet.topic = prefix + packet.topic;
      return true;
    case 'subscribe':
      for (const sub of packet.subscriptions) {
        if (sub.qos > maxQos) sub.qos = maxQos;
        if (prefix !== undefined) sub.topicFilter = mount(prefix, sub.topicFilter);
      }
      return true;
    case 'unsubscribe':
      if (prefix !== undefined) packet.topicFilters = packet.topicFilters.map((f) => mount(prefix, f));
      return true;
    default:
      return true;
  }
}

function connectRules(channel: Channel, packet: ConnectPacket, maxQos: number, prefix: string | undefined): boolean {
  const will = packet.will;
  if (will !== undefined && will.qos > maxQos) {
    // A will QoS the server does not support: the connection is refused [MQTT-3.2.2-12].
    channel.version = packet.protocolVersion;
    channel.send({ type: 'connack', sessionPresent: false, reasonCode: packet.protocolVersion === 5 ? ReasonCode.QoSNotSupported : 5 });
    channel.core.log.info({ clientId: packet.clientId, remote: channel.remoteAddress }, `connection refused: will QoS ${will.qos} above max_qos ${maxQos}`);
    channel.terminate('will QoS above max_qos', false);
    return false;
  }
  if (prefix !== undefined) {
    channel.mountPoint = prefix;
    if (will !== undefined) will.topic = prefix + will.topic;
  }
  return true;
}

/** A topic as a client of a mounted listener sees it: without the mount point. */
export function unmount(prefix: string, topic: string): string {
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : topic;
}
