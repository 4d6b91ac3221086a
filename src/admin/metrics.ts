/**
 * GET /metrics: Prometheus text format (prom-client), read from the broker's counters at each
 * scrape (nothing is counted twice on the hot path). Counters end in `_total`; the process's own
 * metrics (CPU, memory, event-loop lag, heap, GC) are prom-client's defaults. Each HTTP server
 * has a registry of its own, so two brokers in one process do not mix. Open by default (a
 * scraper has no session; the server is on the loopback by default); `http_metrics_auth true`
 * makes it need a viewer.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BrokerStats } from '../broker/api.js';
import type { AdminFacade } from '../broker/admin.js';
import type { AdminContext } from './http.js';

type StatName = keyof BrokerStats;

/** Counters mirrored from BrokerStats: metric name (without cicada_ and _total), help, field. */
const COUNTERS: Array<[string, string, StatName]> = [
  ['messages_received', 'PUBLISH packets received from clients', 'messagesReceived'],
  ['messages_sent', 'PUBLISH packets sent to clients', 'messagesSent'],
  ['bytes_received', 'Bytes received from clients', 'bytesReceived'],
  ['bytes_sent', 'Bytes sent to clients', 'bytesSent'],
  ['publish_bytes_received', 'Payload bytes of PUBLISH packets received', 'publishBytesReceived'],
  ['publish_bytes_sent', 'Payload bytes of PUBLISH packets sent', 'publishBytesSent'],
  ['packets_received', 'MQTT packets received', 'packetsReceived'],
  ['packets_sent', 'MQTT packets sent', 'packetsSent'],
  ['clients_connected', 'Client connections accepted (CONNACK success)', 'clientsTotal'],
  ['sockets_opened', 'Network connections opened', 'socketsOpened'],
  ['clients_expired', 'Sessions ended by their expiry', 'clientsExpired'],
  ['persistence_commits', 'Commits to the persistence store', 'persistenceCommits'],
  ['persistence_rows_written', 'Rows written to the persistence store', 'persistenceRowsWritten'],
];

/** Refusals and failures by reason: label value, field. */
const REFUSALS: Array<[string, StatName]> = [
  ['protocol_error', 'protocolErrors'],
  ['packet_too_large', 'packetsTooLarge'],
  ['topic_limit', 'topicLimitRefusals'],
  ['subscription_limit', 'subscriptionLimitRefusals'],
  ['message_size', 'messageSizeRefusals'],
  ['publish_rate', 'publishRateRefusals'],
  ['slow_consumer_disconnect', 'slowConsumerDisconnects'],
  ['connection_refused', 'connectionsRefused'],
  ['connect_timeout', 'connectTimeouts'],
  ['retained_refused', 'retainedRefused'],
];

/** A counter that follows a number kept elsewhere (it only ever grows). */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Record<string, string>, number]>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const delta = value - (last.get(key) ?? 0);
        if (delta > 0) this.inc(labels, delta);
        else if (!last.has(key)) this.inc(labels, 0);
        last.set(key, value);
      }
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function createMetricsRegistry(admin: AdminFacade): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const stats = admin.core.stats;
  for (const [name, help, field] of COUNTERS) mirroredCounter(registry, `cicada_${name}_total`, help, [], () => [[{}, stats[field]]]);
  mirroredCounter(registry, 'cicada_messages_dropped_total', 'Messages dropped, by reason', ['reason'], () => Object.entries(admin.droppedByReason()).map(([reason, n]) => [{ reason }, n]));
  mirroredCounter(registry, 'cicada_refusals_total', 'Packets, messages and connections refused, by reason', ['reason'], () => REFUSALS.map(([reason, field]) => [{ reason }, stats[field]]));
  gauge(registry, 'cicada_connections', 'Connected clients', () => stats.clientsConnected);
  gauge(registry, 'cicada_sockets', 'Open network connections (connected or before CONNECT)', () => admin.stats().connections ?? 0);
  gauge(registry, 'cicada_sessions', 'Sessions (connected or not)', () => admin.stats().sessions ?? 0);
  gauge(registry, 'cicada_subscriptions', 'Subscriptions', () => stats.subscriptions);
  gauge(registry, 'cicada_retained_messages', 'Retained messages', () => stats.retainedMessages);
  gauge(registry, 'cicada_queued_messages', 'Messages queued for sessions (all sessions)', () => admin.queueTotals().queued);
  gauge(registry, 'cicada_inflight_messages', 'QoS 1 and 2 messages sent and not yet acknowledged (all sessions)', () => admin.queueTotals().inflight);
  gauge(registry, 'cicada_uptime_seconds', 'Seconds since the broker started', () => admin.node().uptimeSeconds);
  return registry;
}

export function metricsRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const registry = createMetricsRegistry(ctx.admin);
  app.get(
    '/metrics',
    { config: { access: ctx.options.httpMetricsAuth === true ? 'viewer' : 'public' }, schema: { tags: ['metrics'], summary: 'Prometheus metrics (text format 0.0.4)' } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}
