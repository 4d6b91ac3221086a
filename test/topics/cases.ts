/**
 * Shared filter/topic table for the matchers of src/topics: every matcher (topicMatches,
 * SubscriptionIndex, RetainedTree) must agree with it. `spec` names the normative statement the
 * case exercises, or `levels` for the non-normative rules on level splitting.
 */
import fc from 'fast-check';

export interface MatchCase {
  readonly filter: string;
  readonly topic: string;
  readonly matches: boolean;
  readonly spec: string;
}

function cases(spec: string, matches: boolean, filter: string, topics: readonly string[]): MatchCase[] {
  return topics.map((topic) => ({ filter, topic, matches, spec }));
}

export const MATCH_CASES: readonly MatchCase[] = [
  // '#' matches the parent and any number of child levels.
  ...cases('MQTT-4.7.1-2', true, 'sport/tennis/player1/#', ['sport/tennis/player1', 'sport/tennis/player1/ranking', 'sport/tennis/player1/score/wimbledon']),
  ...cases('MQTT-4.7.1-2', true, 'sport/#', ['sport', 'sport/', 'sport/tennis/x']),
  ...cases('MQTT-4.7.1-2', false, 'sport/#', ['sports', 'spor', 'tennis/sport']),
  ...cases('MQTT-4.7.1-2', true, 'a/#', ['a', 'a/', 'a/b/c', 'a//']),
  ...cases('MQTT-4.7.1-2', true, '#', ['a', 'a/b', '/', '/a', 'a/$b', 'x//y']),
  ...cases('MQTT-4.7.1-2', true, '/#', ['/', '/a', '//']),
  ...cases('MQTT-4.7.1-2', false, '/#', ['a', 'a/']),
  ...cases('MQTT-4.7.1-2', true, '+/+/#', ['a/b', 'a/b/c/d', '/']),
  ...cases('MQTT-4.7.1-2', false, '+/+/#', ['a']),
  // '+' matches exactly one level, including an empty one.
  ...cases('MQTT-4.7.1-3', true, 'sport/tennis/+', ['sport/tennis/player1', 'sport/tennis/player2', 'sport/tennis/']),
  ...cases('MQTT-4.7.1-3', false, 'sport/tennis/+', ['sport/tennis/player1/ranking', 'sport/tennis']),
  ...cases('MQTT-4.7.1-3', false, 'sport/+', ['sport']),
  ...cases('MQTT-4.7.1-3', true, 'sport/+', ['sport/']),
  ...cases('MQTT-4.7.1-3', true, '+/+', ['/finance', '/', 'a/b']),
  ...cases('MQTT-4.7.1-3', true, '/+', ['/finance', '/']),
  ...cases('MQTT-4.7.1-3', false, '+', ['/finance', '/', 'a/b']),
  ...cases('MQTT-4.7.1-3', true, '+', ['a', 'finance']),
  ...cases('MQTT-4.7.1-3', true, 'a/+', ['a/', 'a/b']),
  ...cases('MQTT-4.7.1-3', true, '+/b', ['/b', 'a/b']),
  ...cases('MQTT-4.7.1-3', true, 'a/+/b', ['a//b', 'a/x/b']),
  ...cases('MQTT-4.7.1-3', false, 'a/+/b', ['a/b', 'a/x/y/b']),
  ...cases('MQTT-4.7.1-3', true, '+/+/+', ['a/b/c', '//']),
  ...cases('MQTT-4.7.1-3', true, '+/#', ['a', 'a/b', '/']),
  // Filters starting with a wildcard do not match topics starting with '$'.
  ...cases('MQTT-4.7.2-1', false, '#', ['$SYS', '$SYS/x', '$', '$/a']),
  ...cases('MQTT-4.7.2-1', false, '+/monitor/Clients', ['$SYS/monitor/Clients']),
  ...cases('MQTT-4.7.2-1', false, '+', ['$SYS', '$']),
  ...cases('MQTT-4.7.2-1', false, '+/#', ['$x/y', '$x']),
  ...cases('MQTT-4.7.2-1', true, '$SYS/#', ['$SYS', '$SYS/x', '$SYS/monitor/Clients']),
  ...cases('MQTT-4.7.2-1', true, '$SYS/monitor/+', ['$SYS/monitor/Clients']),
  ...cases('MQTT-4.7.2-1', true, '$SYS/+/Clients', ['$SYS/monitor/Clients']),
  ...cases('MQTT-4.7.2-1', true, 'a/+', ['a/$b']),
  ...cases('MQTT-4.7.2-1', true, '+/$b', ['a/$b']),
  ...cases('MQTT-4.7.2-1', true, '$', ['$']),
  // No normalisation: levels are compared exactly, so matching is case sensitive.
  ...cases('MQTT-4.7.3-4', false, 'ACCOUNTS', ['Accounts', 'accounts']),
  ...cases('MQTT-4.7.3-4', false, 'a/B/#', ['a/b', 'a/b/c']),
  ...cases('MQTT-4.7.3-4', true, 'añ/+/€', ['añ/x/€']),
  ...cases('MQTT-4.7.3-4', false, 'a /b', ['a/b']),
  // Level splitting: '/' alone is two empty levels, a leading '/' makes an empty first level.
  ...cases('levels', true, 'a/b', ['a/b']),
  ...cases('levels', false, 'a/b', ['a/b/', 'a', 'a/bc', '/a/b', 'a//b']),
  ...cases('levels', true, '/', ['/']),
  ...cases('levels', false, '/', ['//', 'a/', '/a']),
  ...cases('levels', true, '/a', ['/a']),
  ...cases('levels', false, '/a', ['a']),
  ...cases('levels', true, 'a//b', ['a//b']),
  ...cases('levels', true, 'a/+/+', ['a//']),
];

export function caseName(c: MatchCase): string {
  return `[${c.spec}] '${c.filter}' ${c.matches ? 'matches' : 'does not match'} '${c.topic}'`;
}

/** Small alphabet so random filters and topics collide often: empty, '$' and case variants. */
const LEVELS = ['a', 'b', 'A', '', '$SYS', '$x', 'a$'] as const;

export const levelArb = fc.constantFrom(...LEVELS);

export const topicArb: fc.Arbitrary<string> = fc
  .array(levelArb, { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'));

export const filterArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof({ weight: 3, arbitrary: levelArb }, { weight: 2, arbitrary: fc.constant('+') }), { maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash || levels.length === 0 ? [...levels, '#'] : levels).join('/'));

export function sorted<T>(values: Iterable<T>): T[] {
  return [...values].sort();
}
