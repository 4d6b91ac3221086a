/**
 * Hostile-input limits of the protocol core, each a small named check that returns whether the
 * packet may go on, bumps its counter in BrokerStats and logs. Log lines are throttled per kind
 * (at most one per second, with the count since the last one), so a flood of bad packets cannot
 * flood the log as well.
 */
import type { PublishPacket } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { BrokerStats } from './api.js';
import type { Channel } from './channel.js';
import type { Logger } from './logger.js';

/** Counters of BrokerStats that count refusals and drops. */
export type RefusalCounter =
  | 'messagesDropped'
  | 'retainedRefused'
  | 'protocolErrors'
  | 'packetsTooLarge'
  | 'topicLimitRefusals'
  | 'subscriptionLimitRefusals'
  | 'messageSizeRefusals'
  | 'publishRateRefusals'
  | 'slowConsumerDisconnects'
  | 'connectionsRefused'
  | 'connectTimeouts';

interface Throttle {
  last: number;
  since: number;
}
const throttles = new WeakMap<BrokerStats, Map<RefusalCounter, Throttle>>();

/**
 * Count one more of `counter`. Returns how many were counted since the last log line when a line
 * is due (at most one per second per kind), else undefined. Allocation-free when no line is due,
 * so it can sit on paths that run millions of times under a flood.
 */
export function countThrottled(stats: BrokerStats, counter: RefusalCounter): number | undefined {
  stats[counter]++;
  let byKind = throttles.get(stats);
  if (byKind === undefined) throttles.set(stats, (byKind = new Map<RefusalCounter, Throttle>()));
  let throttle = byKind.get(counter);
  if (throttle === undefined) byKind.set(counter, (throttle = { last: 0, since: 0 }));
  throttle.since++;
  const now = Date.now();
  if (now - throttle.last < 1000) return undefined;
  const since = throttle.since;
  throttle.last = now;
  throttle.since = 0;
  return since;
}

/** Count a refusal and log it, at most once per second per kind. */
export function refused(stats: BrokerStats, log: Logger, counter: RefusalCounter, fields: object, message: string): void {
  const since = countThrottled(stats, counter);
  if (since === undefined) return;
  log.warn({ ...fields, counter, sinceLastLog: since, total: stats[counter] }, message);
}

/** More levels than `max`? A topic shorter than `max` cannot have them (the hot path skips the scan). */
function tooDeep(topic: string, max: number): boolean {
  return topic.length >= max && topicLevels(topic) > max;
}

/** Levels of a topic name or filter (`a/b` has 2). */
export function topicLevels(topic: string): number {
  let levels = 1;
  for (let i = topic.indexOf('/'); i !== -1; i = topic.indexOf('/', i + 1)) levels++;
  return levels;
}

function refuse(channel: Channel, counter: RefusalCounter, fields: object, message: string): void {
  const core = channel.core;
  refused(core.stats, core.log, counter, { clientId: channel.clientId, remote: channel.remoteAddress, ...fields }, message);
}

/**
 * Optional per-client publish rate limit (publishRateLimit per second): beyond it the client is
 * disconnected (5.0: Message rate too high, 0x96). False when the channel was closed.
 */
export function withinPublishRate(channel: Channel): boolean {
  const limit = channel.core.options.publishRateLimit;
  if (limit === 0) return true;
  const now = channel.core.now();
  if (now - channel.publishWindow >= 1000) {
    channel.publishWindow = now;
    channel.publishCount = 0;
  }
  if (++channel.publishCount <= limit) return true;
  refuse(channel, 'publishRateRefusals', { limit }, 'publish rate limit exceeded: disconnecting');
  channel.fail(`more than ${limit} PUBLISH packets per second`, ReasonCode.MessageRateTooHigh);
  return false;
}

/**
 * Topic depth (maxTopicLevels: the client is disconnected, 5.0 Topic Name invalid) and payload
 * size (messageSizeLimit: the message is dropped; 5.0 acknowledges with Quota exceeded). Returns
 * undefined when the message may go on, else the reason code to acknowledge with, or 'closed'.
 */
export function publishRefusal(channel: Channel, packet: PublishPacket, topic: string): number | 'closed' | undefined {
  const options = channel.core.options;
  if (tooDeep(topic, options.maxTopicLevels)) {
    refuse(channel, 'topicLimitRefusals', { levels: topicLevels(topic), max: options.maxTopicLevels }, 'topic with too many levels: disconnecting');
    channel.fail('topic with too many levels', ReasonCode.TopicNameInvalid);
    return 'closed';
  }
  if (options.messageSizeLimit > 0 && packet.payload.length > options.messageSizeLimit) {
    refuse(channel, 'messageSizeRefusals', { topic, size: packet.payload.length, max: options.messageSizeLimit }, 'message larger than message_size_limit: dropped');
    return ReasonCode.QuotaExceeded;
  }
  return undefined;
}

/**
 * Topics the broker itself serves: `$SYS` (as Mosquitto, every topic starting with `$SYS`) and
 * `$share` (shared subscriptions exist only as filters). No client publishes there, whatever the
 * ACL says; a will on such a topic is dropped.
 */
export function brokerOwnedTopic(topic: string): boolean {
  return topic.charCodeAt(0) === 0x24 && (topic.startsWith('$SYS') || topic.startsWith('$share'));
}

/**
 * Topic filter depth (maxTopicLevels: 5.0 Topic Filter invalid) and the number of subscriptions
 * per client (maxSubscriptionsPerClient: 5.0 Quota exceeded). Returns the refusal's reason code.
 */
export function subscribeRefusal(channel: Channel, filter: string): number | undefined {
  const options = channel.core.options;
  if (tooDeep(filter, options.maxTopicLevels)) {
    refuse(channel, 'topicLimitRefusals', { levels: topicLevels(filter), max: options.maxTopicLevels }, 'topic filter with too many levels: refused');
    return ReasonCode.TopicFilterInvalid;
  }
  const max = options.maxSubscriptionsPerClient;
  const subscriptions = channel.session?.subscriptions;
  if (max > 0 && subscriptions !== undefined && subscriptions.size >= max && !subscriptions.has(filter)) {
    refuse(channel, 'subscriptionLimitRefusals', { filter, max }, 'too many subscriptions: refused');
    return ReasonCode.QuotaExceeded;
  }
  return undefined;
}

/**
 * slowConsumer 'disconnect': a client whose unsent bytes passed maxOutgoingBytes is closed. Not
 * inside the router's delivery loop that found it slow: on the next turn.
 */
export function slowConsumerDisconnect(channel: Channel): void {
  setImmediate(() => {
    if (channel.state === 'closed') return;
    const max = channel.core.options.maxOutgoingBytes;
    refuse(channel, 'slowConsumerDisconnects', { pendingBytes: channel.outbox.pendingBytes, max }, 'slow consumer: disconnecting');
    channel.fail(`slow consumer: more than ${max} bytes unsent`, ReasonCode.QuotaExceeded);
  });
}
