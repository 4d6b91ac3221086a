/**
 * PUBLISH from a client (section 3.3 and 4.3): topic alias resolution (5.0), authorization,
 * routing, and the acknowledgement its QoS calls for. QoS 2 uses the standard's Method A:
 * the message is routed when the PUBLISH arrives, and its packet id is remembered until PUBREL
 * so a re-sent PUBLISH is not routed twice [MQTT-4.3.3-2].
 */
import type { PublishPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import { isUtf8 } from 'node:buffer';
import { forwardedProperties, Message } from '../message.js';
import { reasonName } from '../reasons.js';
import { brokerOwnedTopic, publishRefusal, withinPublishRate } from '../limits.js';

export function handlePublish(channel: Channel, packet: PublishPacket): void {
  const core = channel.core;
  core.stats.messagesReceived++;
  core.stats.publishBytesReceived += packet.payload.length;
  if (!withinPublishRate(channel)) return;
  if (core.overMemoryLimit) {
    // memory_limit: as Mosquitto, the message is dropped and its publisher disconnected.
    channel.fail('memory_limit reached', ReasonCode.QuotaExceeded);
    return;
  }
  if (packet.retain && !core.options.retainAvailable) {
    channel.fail('retained message while retain is not available', ReasonCode.RetainNotSupported); // [MQTT-3.3.1-13]
    return;
  }
  if (packet.qos === 2 && channel.version === 5) {
    const session = channel.session;
    // More unreleased QoS 2 messages than the Receive Maximum the broker announced [MQTT-3.3.4-9]:
    // counted on this connection, as the client counts its send quota [MQTT-4.9.0-2], not over the
    // session (ids left unreleased by an earlier connection do not use this one's quota).
    if (session !== undefined && channel.inboundQos2 >= core.options.maxInflightMessages && !session.awaitingRelease.has(packet.packetId as number)) {
      channel.fail('receive maximum exceeded', ReasonCode.ReceiveMaximumExceeded);
      return;
    }
  }
  let topic = packet.topic;
  const alias = packet.properties?.topicAlias;
  if (alias !== undefined) {
    // Above the announced maximum: Topic Alias invalid [MQTT-3.3.2-9], [MQTT-3.3.2-10]
    // (alias 0 never gets here: the codec refuses it with the same code [MQTT-3.3.2-8]).
    if (alias > channel.topicAliasMaximum) {
      channel.fail(`topic alias ${alias} out of range`, ReasonCode.TopicAliasInvalid);
      return;
    }
    const aliases = (channel.topicAliases ??= new Map<number, string>());
    if (topic.length > 0) aliases.set(alias, topic);
    else {
      const known = aliases.get(alias);
      if (known === undefined) {
        channel.fail(`unknown topic alias ${alias}`, ReasonCode.ProtocolError);
        return;
      }
      topic = known;
    }
  }
  const refusal = publishRefusal(channel, packet, topic);
  if (refusal !== undefined) {
    if (refusal !== 'closed') acknowledge(channel, packet, channel.version === 5 ? refusal : ReasonCode.Success);
    return;
  }
  if (brokerOwnedTopic(topic)) {
    decided(channel, packet, topic, false); // $SYS and $share are the broker's, whatever the ACL says
    return;
  }
  const hooks = core.hooks;
  if (!hooks.checksPublish) {
    accept(channel, packet, topic);
    return;
  }
  const allowed = hooks.authorize('publish', channel.info(), topic, packet.qos, packet.retain);
  if (allowed instanceof Promise) channel.defer(allowed, (ok) => decided(channel, packet, topic, ok));
  else decided(channel, packet, topic, allowed);
}

function decided(channel: Channel, packet: PublishPacket, topic: string, allowed: boolean): void {
  if (allowed) {
    accept(channel, packet, topic);
    return;
  }
  channel.core.log.info({ clientId: channel.clientId, topic }, 'publish not authorized: dropped');
  // 3.1.1 has no way to refuse a PUBLISH: it is acknowledged and dropped. 5.0 says 0x87.
  acknowledge(channel, packet, channel.version === 5 ? ReasonCode.NotAuthorized : ReasonCode.Success);
}

function accept(channel: Channel, packet: PublishPacket, topic: string): void {
  const props = packet.properties;
  if (props?.payloadFormatIndicator === 1 && !isUtf8(packet.payload)) {
    // Payload Format Indicator 1 promises UTF-8: refuse a payload that is not (0x99).
    channel.core.log.info({ clientId: channel.clientId, topic }, 'payload is not valid UTF-8 despite its format indicator: dropped');
    acknowledge(channel, packet, ReasonCode.PayloadFormatInvalid);
    return;
  }
  if (packet.qos === 2) {
    const session = channel.session;
    if (session !== undefined && session.awaitingRelease.has(packet.packetId as number)) {
      // A re-sent PUBLISH before PUBREL: acknowledge again, do not deliver twice [MQTT-4.3.3-2].
      acknowledge(channel, packet, ReasonCode.Success);
      return;
    }
    if (session !== undefined) {
      session.awaitRelease(packet.packetId as number);
      channel.inboundQos2++;
      channel.core.persistence?.saveIncoming(session, packet.packetId as number);
    }
  }
  const expiry = props?.messageExpiryInterval;
  const message = new Message(
    topic,
    packet.payload,
    packet.qos,
    packet.retain,
    props === undefined ? undefined : forwardedProperties(props),
    channel.clientId,
    expiry === undefined ? 0 : channel.core.now() + expiry * 1000,
  );
  channel.core.publish(message, channel);
  acknowledge(channel, packet, ReasonCode.Success);
}

/** PUBACK for QoS 1 [MQTT-4.3.2-2], PUBREC for QoS 2 [MQTT-4.3.3-2], nothing for QoS 0. */
function acknowledge(channel: Channel, packet: PublishPacket, reasonCode: number): void {
  if (packet.qos === 0) return;
  const packetId = packet.packetId as number;
  const type = packet.qos === 1 ? 'puback' : 'pubrec';
  if (channel.version !== 5) {
    channel.send({ type, packetId });
    return;
  }
  // A reason string only when the client did not turn problem information off [MQTT-3.1.2-29].
  const reasonString = reasonCode >= 0x80 && channel.problemInformation ? reasonName(reasonCode) : undefined;
  channel.send(reasonString === undefined ? { type, packetId, reasonCode } : { type, packetId, reasonCode, properties: { reasonString } });
}
