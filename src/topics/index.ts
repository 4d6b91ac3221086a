/** Topic matching: the innermost layer with src/protocol; imports nothing else of ours. */
export { topicMatches } from './match.js';
export {
  SubscriptionIndex,
  DEFAULT_CACHE_SIZE,
  MAX_CACHED_RESULT,
  MAX_CACHED_TOPIC_LENGTH,
  type SubscriptionIndexOptions,
} from './subscription-index.js';
export { RetainedTree } from './retained-tree.js';
export { isWildcardFilter, isDollarTopic, startsWithWildcard } from './levels.js';
