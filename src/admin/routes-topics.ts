/**
 * The dashboard's topic tree and overview history (topic-tree.ts, stats-history.ts): both are
 * created with the HTTP server, fed through the admin facade (its messages; a sample of its
 * counters every 5 s) and stopped when it closes.
 * - GET /api/v1/topic-tree?path=&page=&limit= : one level of the tree (no `path`: the root);
 * - GET /api/v1/topic-tree/value?topic= : a topic's last value, count, rate and recent JSON history;
 * - GET /api/v1/topic-tree/search?q=&limit= : topics containing a text;
 * - GET /api/v1/stats/history?range=1h|6h|24h|7d : connections and rates for the overview charts.
 * Topics travel in the query string, never in the path (no `..` or `%2F` games).
 */
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './http.js';
import { ApiError } from './errors.js';
import { feedTopicTree, TopicTree } from './topic-tree.js';
import { HISTORY_RANGES, StatsHistory, type LoadCounters } from './stats-history.js';

/** A topic is at most 65,535 bytes of UTF-8 (MQTT's string length), so at most that many characters. */
const TOPIC = { type: 'string', maxLength: 65535 } as const;
const PAGE = { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 } as const;
const LIMIT = { type: 'integer', minimum: 1, maximum: 1000, default: 100 } as const;

export function topicRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const tree = new TopicTree();
  const unfeed = feedTopicTree((listener) => ctx.admin.watchMessages(listener), tree);
  const history = new StatsHistory(() => loadCounters(ctx.admin.stats()));
  history.start();
  app.addHook('onClose', (_instance, done) => {
    unfeed();
    history.stop();
    done();
  });

  app.get<{ Querystring: { path?: string; page: number; limit: number } }>(
    '/api/v1/topic-tree',
    {
      schema: {
        tags: ['topics'],
        summary: 'One level of the topic tree kept by the broker (no path: the root)',
        querystring: { type: 'object', additionalProperties: false, properties: { path: TOPIC, page: PAGE, limit: LIMIT } },
      },
    },
    (request) => {
      const { path, page, limit } = request.query;
      const level = tree.children(path, (page - 1) * limit, limit);
      if (level === undefined) throw new ApiError('NOT_FOUND', 'no topic at or below this path is kept');
      return { data: level.children, meta: { page, limit, count: level.total, hasnext: page * limit < level.total }, tree: tree.stats() };
    },
  );

  app.get<{ Querystring: { topic: string } }>(
    '/api/v1/topic-tree/value',
    {
      schema: {
        tags: ['topics'],
        summary: "A topic's last value (base64), message count, rate and recent JSON-like payloads",
        querystring: { type: 'object', required: ['topic'], additionalProperties: false, properties: { topic: TOPIC } },
      },
    },
    (request) => {
      const detail = tree.detail(request.query.topic);
      if (detail === undefined) throw new ApiError('NOT_FOUND', 'topic not kept in the topic tree');
      return detail;
    },
  );

  app.get<{ Querystring: { q: string; limit: number } }>(
    '/api/v1/topic-tree/search',
    {
      schema: {
        tags: ['topics'],
        summary: 'Topics of the tree containing a text (case-insensitive)',
        querystring: { type: 'object', required: ['q'], additionalProperties: false, properties: { q: { type: 'string', minLength: 1, maxLength: 1024 }, limit: LIMIT } },
      },
    },
    (request) => ({ data: tree.search(request.query.q, request.query.limit) }),
  );

  app.get<{ Querystring: { range: string } }>(
    '/api/v1/stats/history',
    {
      schema: {
        tags: ['stats'],
        summary: 'Connections and message and byte rates over a range, for charts',
        querystring: { type: 'object', additionalProperties: false, properties: { range: { type: 'string', enum: Object.keys(HISTORY_RANGES), default: '1h' } } },
      },
    },
    (request) => {
      const range = request.query.range;
      return { range, ...history.query(HISTORY_RANGES[range] as number) };
    },
  );
}

function loadCounters(stats: Record<string, number>): LoadCounters {
  const n = (key: string): number => stats[key] ?? 0;
  return {
    clientsConnected: n('clientsConnected'),
    messagesReceived: n('messagesReceived'),
    messagesSent: n('messagesSent'),
    messagesDropped: n('messagesDropped'),
    bytesReceived: n('bytesReceived'),
    bytesSent: n('bytesSent'),
  };
}
