/** Broker-wide counters, plain numbers bumped on the hot path (no maps, no closures). */
import type { BrokerStats } from './api.js';

export function createStats(): BrokerStats {
  return {
    clientsConnected: 0,
    clientsTotal: 0,
    messagesReceived: 0,
    messagesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    subscriptions: 0,
    retainedMessages: 0,
    retainedRefused: 0,
    messagesDropped: 0,
    protocolErrors: 0,
    packetsTooLarge: 0,
    topicLimitRefusals: 0,
    subscriptionLimitRefusals: 0,
    messageSizeRefusals: 0,
    publishRateRefusals: 0,
    slowConsumerDisconnects: 0,
    connectionsRefused: 0,
    connectTimeouts: 0,
    persistenceCommits: 0,
    persistenceRowsWritten: 0,
    clientsMaximum: 0,
    clientsExpired: 0,
    packetsReceived: 0,
    packetsSent: 0,
    publishBytesReceived: 0,
    publishBytesSent: 0,
    socketsOpened: 0,
  };
}
