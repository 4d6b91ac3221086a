/**
 * Direct filter/topic matching, for one-off checks (ACLs) and as the reference the indexes are
 * tested against.
 *
 * Algorithm: walk both strings level by level with two cursors, without allocating. A `#` level
 * matches whatever is left, including nothing (the parent level) [MQTT-4.7.1-2]; a `+` level
 * matches exactly one level, which may be empty [MQTT-4.7.1-3]; any other level must be equal
 * character for character [MQTT-4.7.3-4]. Cost: O(length of filter + length of topic).
 */
import { MULTI_LEVEL, SEPARATOR, SINGLE_LEVEL, isDollarTopic, startsWithWildcard } from './levels.js';

const MULTI_CODE = MULTI_LEVEL.charCodeAt(0);
const SINGLE_CODE = SINGLE_LEVEL.charCodeAt(0);

/** Whether a valid topic filter matches a valid topic name. */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] A filter starting with a wildcard does not match a topic starting with '$'.
  if (isDollarTopic(topic) && startsWithWildcard(filter)) return false;
  const filterLength = filter.length;
  const topicLength = topic.length;
  const topicExhausted = topicLength + 1; // cursor value once every topic level is consumed
  let f = 0;
  let t = 0;
  while (true) {
    let fEnd = filter.indexOf(SEPARATOR, f);
    if (fEnd < 0) fEnd = filterLength;
    const oneChar = fEnd - f === 1;
    // [MQTT-4.7.1-2] '#' matches the parent and any number of child levels.
    if (oneChar && filter.charCodeAt(f) === MULTI_CODE) return true;
    if (t === topicExhausted) return false;
    let tEnd = topic.indexOf(SEPARATOR, t);
    if (tEnd < 0) tEnd = topicLength;
    // [MQTT-4.7.1-3] '+' matches exactly one level, including an empty one.
    const single = oneChar && filter.charCodeAt(f) === SINGLE_CODE;
    if (!single && !sameLevel(filter, f, fEnd, topic, t, tEnd)) return false;
    const filterDone = fEnd === filterLength;
    const topicDone = tEnd === topicLength;
    if (filterDone) return topicDone;
    f = fEnd + 1;
    t = topicDone ? topicExhausted : tEnd + 1;
  }
}

function sameLevel(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = aStart, j = bStart; i < aEnd; i++, j++) {
    if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
  }
  return true;
}
