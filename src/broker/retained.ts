/**
 * The retained store: the RetainedTree of src/topics (walked by a filter, never scanned) plus
 * what a broker that runs for months needs around it.
 *
 * - Expiry. A retained message with a Message Expiry Interval is discarded when it expires and
 *   there is then no retained message for its topic (MQTT 5.0 section 3.3.2.3.3). The messages
 *   that can expire are also kept in `expiring` (by topic, so a replaced one leaves it), and
 *   `sweep` removes the expired ones every SWEEP_MS: from the tree, and through `onExpired` from
 *   the persistence store. Its cost is the number of retained messages that have an expiry,
 *   never all of them.
 * - A ceiling (`max_retained_messages`, EMQX's limit; 0 = none). When the store is full, a
 *   retained message for a topic that has none is not retained, as EMQX does: the message is
 *   still delivered to the current subscribers like any other (the publisher did nothing wrong,
 *   and refusing the PUBLISH would lose a message to fix a memory bound), replacing or clearing
 *   an existing retained message is always allowed, and every refusal is counted
 *   (`retainedRefused`, $SYS/broker/retained messages/refused) and logged at most once a second.
 */
import { RetainedTree } from '../topics/index.js';
import type { Message } from './message.js';

/** How often expired retained messages are removed, in ms. */
export const RETAINED_SWEEP_MS = 1000;

export class RetainedStore extends RetainedTree<Message> {
  /** Retained messages that can expire, by topic. */
  private readonly expiring = new Map<string, Message>();
  /** Retained `$` topics (the broker's own $SYS values): not counted against the limit. */
  private dollarTopics = 0;

  /** `maxMessages`: most retained topics, 0 for no limit. */
  constructor(private readonly maxMessages: number) {
    super();
  }

  /**
   * Whether a retained message for `topic` may be stored: the limit leaves room, or the topic has
   * one already, or it is a `$` topic (the broker's own, never counted).
   */
  hasRoomFor(topic: string): boolean {
    return this.maxMessages === 0 || this.size - this.dollarTopics < this.maxMessages || isDollar(topic) || this.get(topic) !== undefined;
  }

  override set(topic: string, message: Message): void {
    if (isDollar(topic) && this.get(topic) === undefined) this.dollarTopics++;
    super.set(topic, message);
    if (message.expiresAt !== 0) this.expiring.set(topic, message);
    else if (this.expiring.size > 0) this.expiring.delete(topic);
  }

  override delete(topic: string): boolean {
    if (this.expiring.size > 0) this.expiring.delete(topic);
    const deleted = super.delete(topic);
    if (deleted && isDollar(topic)) this.dollarTopics--;
    return deleted;
  }

  /** Remove every retained message expired at `now`; `onExpired` is told each one. */
  sweep(now: number, onExpired: (topic: string, message: Message) => void): void {
    for (const [topic, message] of this.expiring) {
      if (!message.isExpired(now)) continue;
      this.delete(topic);
      onExpired(topic, message);
    }
  }
}

function isDollar(topic: string): boolean {
  return topic.charCodeAt(0) === 0x24; // '$'
}
