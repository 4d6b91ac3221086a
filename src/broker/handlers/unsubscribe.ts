/** UNSUBSCRIBE -> UNSUBACK (section 3.10 and 3.11). */
import type { UnsubackPacket, UnsubscribePacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';

export function handleUnsubscribe(channel: Channel, packet: UnsubscribePacket): void {
  const session = channel.session;
  if (session === undefined) return;
  const core = channel.core;
  const reasonCodes: number[] = [];
  for (const filter of packet.topicFilters) {
    const entry = session.subscriptions.get(filter);
    // The subscription is deleted and no new messages are added for it [MQTT-3.10.4-2].
    const existed = entry !== undefined && core.router.unsubscribe(session, entry);
    session.removeSubscription(filter);
    if (existed) core.persistence?.dropSubscription(session, filter);
    reasonCodes.push(existed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
    if (existed && core.hooks.has('session.unsubscribed')) core.hooks.notify('session.unsubscribed', channel.info(), filter);
  }
  core.stats.subscriptions = core.router.subscriptionCount;
  // UNSUBACK even when no filter matched [MQTT-3.10.4-4], [MQTT-3.10.4-5].
  const unsuback: UnsubackPacket = { type: 'unsuback', packetId: packet.packetId };
  if (channel.version === 5) unsuback.reasonCodes = reasonCodes;
  channel.send(unsuback);
}
