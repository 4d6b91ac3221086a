/**
 * SUBSCRIBE -> SUBACK (section 3.8 and 3.9): authorize each filter, add or replace the
 * subscription, answer with one return code per filter in order [MQTT-3.8.4-1], [MQTT-3.9.3-1],
 * then send the retained messages that match [MQTT-3.3.1-6].
 */
import type { QoS, SubscribePacket, Subscription } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { parseSharedFilter } from '../../protocol/validate.js';
import type { Channel } from '../channel.js';
import { reasonName, subackFailure } from '../reasons.js';
import { subscribeRefusal } from '../limits.js';
import { deliveryQos, minQos } from '../router.js';
import type { SubscriptionEntry } from '../session.js';

type Grant = boolean | QoS;

export function handleSubscribe(channel: Channel, packet: SubscribePacket): void {
  const hooks = channel.core.hooks;
  if (!hooks.authorizes('subscribe')) {
    subscribeAll(channel, packet, undefined);
    return;
  }
  const info = channel.info();
  const grants: Array<Grant | Promise<Grant>> = packet.subscriptions.map((s) => hooks.authorize('subscribe', info, s.topicFilter, s.qos, false));
  if (grants.some((g) => g instanceof Promise)) {
    channel.defer(Promise.all(grants.map((g) => Promise.resolve(g))), (resolved) => subscribeAll(channel, packet, resolved));
  } else subscribeAll(channel, packet, grants as Grant[]);
}

function subscribeAll(channel: Channel, packet: SubscribePacket, grants: readonly Grant[] | undefined): void {
  const session = channel.session;
  if (session === undefined) return;
  // The packet is checked as a whole before any filter is stored: a protocol error in a later
  // filter leaves no earlier one behind. No Local on a shared subscription [MQTT-3.8.3-4] (the
  // decoder refuses it too; this guards packets that reach the core another way).
  const noLocalShared = packet.subscriptions.find((s) => s.noLocal === true && parseSharedFilter(s.topicFilter) !== undefined);
  if (noLocalShared !== undefined) {
    channel.fail(`No Local set on shared subscription ${noLocalShared.topicFilter}`, ReasonCode.ProtocolError);
    return;
  }
  const core = channel.core;
  const reasonCodes: number[] = [];
  const retainedFor: Array<[SubscriptionEntry, boolean]> = [];
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0] ?? 0;
  for (let i = 0; i < packet.subscriptions.length; i++) {
    const sub = packet.subscriptions[i] as Subscription;
    const grant = grants === undefined ? true : (grants[i] as Grant);
    if (grant === false) {
      core.log.info({ clientId: channel.clientId, filter: sub.topicFilter }, 'subscribe not authorized');
      reasonCodes.push(subackFailure(channel.version, ReasonCode.NotAuthorized));
      continue;
    }
    const refusal = subscribeRefusal(channel, sub.topicFilter);
    if (refusal !== undefined) {
      reasonCodes.push(subackFailure(channel.version, refusal));
      continue;
    }
    const shared = parseSharedFilter(sub.topicFilter);
    const qos = grant === true ? sub.qos : minQos(sub.qos, grant);
    const entry: SubscriptionEntry = {
      session,
      filter: shared?.filter ?? sub.topicFilter,
      rawFilter: sub.topicFilter,
      shareName: shared?.group,
      qos,
      noLocal: sub.noLocal ?? false,
      retainAsPublished: sub.retainAsPublished ?? false,
      retainHandling: sub.retainHandling ?? 0,
      subscriptionId,
    };
    const isNew = core.router.subscribe(entry);
    session.addSubscription(entry);
    core.persistence?.saveSubscription(session, entry);
    reasonCodes.push(qos);
    // Retained messages are not sent for a shared subscription (MQTT 5.0 section 4.8.2).
    if (shared === undefined) retainedFor.push([entry, isNew]);
    if (core.hooks.has('session.subscribed')) core.hooks.notify('session.subscribed', channel.info(), sub.topicFilter, qos);
  }
  core.stats.subscriptions = core.router.subscriptionCount;
  // 5.0: say why a filter was refused, unless the client turned problem information off [MQTT-3.1.2-29].
  const refused = channel.version === 5 && channel.problemInformation ? reasonCodes.find((code) => code >= 0x80) : undefined;
  channel.send({ type: 'suback', packetId: packet.packetId, reasonCodes, ...(refused === undefined ? {} : { properties: { reasonString: reasonName(refused) } }) });
  for (const [entry, isNew] of retainedFor) sendRetained(channel, entry, isNew);
}

/**
 * Retained messages matching a new (or replaced [MQTT-3.8.4-3]) subscription, with RETAIN set
 * [MQTT-3.3.1-8]. 5.0 Retain Handling: 0 always, 1 only for a new subscription, 2 never. Read
 * authorization is checked for each of them as for every delivery (Channel.sendPublish).
 */
function sendRetained(channel: Channel, entry: SubscriptionEntry, isNew: boolean): void {
  if (entry.retainHandling === 2 || (entry.retainHandling === 1 && !isNew)) return;
  const core = channel.core;
  const session = entry.session;
  const now = core.now();
  const subIds = entry.subscriptionId > 0 ? [entry.subscriptionId] : undefined;
  for (const message of core.retained.match(entry.filter)) {
    if (message.isExpired(now)) continue;
    session.deliver(message, deliveryQos(message.qos, entry.qos, core.router.upgradeQos), true, subIds);
  }
}
