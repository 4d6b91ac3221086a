/**
 * A shared subscription group, `$share/{name}/{filter}` (MQTT 5.0 section 4.8.2; offered to
 * 3.1.1 clients too, as Mosquitto and EMQX do). The group is one entry of the router's index;
 * each message matching its filter goes to exactly one member.
 *
 * Choice of member: round robin, skipping members whose inflight window is full or whose queue
 * is not empty; when every connected member is busy, the next connected member (its queue takes
 * it); when no member is connected, the next member (its offline queue takes it).
 */
import type { Session, SubscriptionEntry } from './session.js';

export class ShareGroup {
  readonly isGroup = true;
  readonly members: SubscriptionEntry[] = [];
  private next = 0;

  constructor(
    readonly name: string,
    readonly filter: string,
  ) {}

  /** Key of the group in the router's group table. */
  static key(name: string, filter: string): string {
    return `${name}\u0000${filter}`;
  }

  add(entry: SubscriptionEntry): boolean {
    const index = this.members.findIndex((m) => m.session === entry.session);
    if (index === -1) {
      this.members.push(entry);
      return true;
    }
    this.members[index] = entry;
    return false;
  }

  remove(session: Session): boolean {
    const index = this.members.findIndex((m) => m.session === session);
    if (index === -1) return false;
    this.members.splice(index, 1);
    if (this.next > index) this.next--;
    return true;
  }

  /** The member to receive the next message, never `except` (a leaving member). */
  pick(except?: Session): SubscriptionEntry | undefined {
    const members = this.members;
    const count = members.length;
    let connected: SubscriptionEntry | undefined;
    let any: SubscriptionEntry | undefined;
    for (let i = 0; i < count; i++) {
      const index = (this.next + i) % count;
      const member = members[index] as SubscriptionEntry;
      const session = member.session;
      if (session === except) continue;
      any ??= member;
      const link = session.link;
      if (link === undefined) continue;
      if (session.queue.length === 0 && session.inflight.size < link.receiveMaximum) {
        this.next = (index + 1) % count;
        return member;
      }
      connected ??= member;
    }
    const chosen = connected ?? any;
    if (chosen !== undefined) this.next = (members.indexOf(chosen) + 1) % count;
    return chosen;
  }
}
