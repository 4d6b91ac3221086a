/**
 * A shared subscription group, `$share/{name}/{filter}` (MQTT 5.0 section 4.8.2; offered to
 * 3.1.1 clients too, as Mosquitto and EMQX do). The group is one entry of the router's index;
 * each message matching its filter goes to exactly one member.
 *
 * Members are routes (./route-target.ts): a session's subscription, or a remote target (a
 * cluster node holding members of the group).
 *
 * Choice of member: round robin, skipping members that are not ready (a session whose inflight
 * window is full or whose queue is not empty, a congested remote target); when every reachable
 * member is busy, the next reachable member (its queue takes it); when no member is reachable,
 * the next member (its offline queue takes it).
 */
import { Readiness, type Route, type RouteTarget } from './route-target.js';

export class ShareGroup {
  readonly isGroup = true;
  readonly members: Route[] = [];
  private next = 0;

  constructor(
    readonly name: string,
    readonly filter: string,
  ) {}

  /** Key of the group in the router's group table. */
  static key(name: string, filter: string): string {
    return `${name}\u0000${filter}`;
  }

  add(entry: Route): boolean {
    const index = this.members.findIndex((m) => m.session === entry.session);
    if (index === -1) {
      this.members.push(entry);
      return true;
    }
    this.members[index] = entry;
    return false;
  }

  remove(target: RouteTarget): boolean {
    const index = this.members.findIndex((m) => m.session === target);
    if (index === -1) return false;
    this.members.splice(index, 1);
    if (this.next > index) this.next--;
    return true;
  }

  /** The member to receive the next message, never `except` (a leaving member). */
  pick(except?: RouteTarget): Route | undefined {
    const members = this.members;
    const count = members.length;
    let connected: Route | undefined;
    let any: Route | undefined;
    for (let i = 0; i < count; i++) {
      const index = (this.next + i) % count;
      const member = members[index] as Route;
      const target = member.session;
      if (target === except) continue;
      any ??= member;
      const readiness = target.readiness();
      if (readiness === Readiness.Offline) continue;
      if (readiness === Readiness.Ready) {
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
