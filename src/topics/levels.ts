/**
 * Topic level helpers shared by the matchers of src/topics.
 *
 * A topic name or filter is a list of levels separated by `/`; `/` alone is two empty levels and
 * a leading `/` makes an empty first level. Levels are compared byte for byte, with no
 * normalisation, so matching is case sensitive [MQTT-4.7.3-4]. Inputs are validated by the
 * codec: names hold no wildcard [MQTT-4.7.1-1]; in filters `+` fills a whole level
 * [MQTT-4.7.1-3] and `#` is the whole last level [MQTT-4.7.1-2].
 */

export const SEPARATOR = '/';
export const SINGLE_LEVEL = '+';
export const MULTI_LEVEL = '#';

const DOLLAR_CODE = 0x24; // '$'

/** Levels of a topic or filter. Allocates: for subscribe/unsubscribe paths, not per publish. */
export function splitLevels(s: string): string[] {
  return s.split(SEPARATOR);
}

export function isWildcardLevel(level: string): boolean {
  return level === SINGLE_LEVEL || level === MULTI_LEVEL;
}

/** True when some level of the filter is `+` or `#` (a `+` inside a literal level is not). */
export function isWildcardFilter(filter: string): boolean {
  if (!filter.includes(SINGLE_LEVEL) && !filter.includes(MULTI_LEVEL)) return false;
  return splitLevels(filter).some(isWildcardLevel);
}

/** Topics whose first character is `$` are hidden from filters starting with a wildcard. */
export function isDollarTopic(topic: string): boolean {
  return topic.charCodeAt(0) === DOLLAR_CODE;
}

/** Whether the first level of a filter is `+` or `#` [MQTT-4.7.2-1]. */
export function startsWithWildcard(filter: string): boolean {
  const end = filter.indexOf(SEPARATOR);
  return isWildcardLevel(end < 0 ? filter : filter.slice(0, end));
}
