/** The sink types by the name the `sink` directive uses. */
import { influxdbType } from './influxdb.js';
import { kafkaType } from './kafka.js';
import { postgresType } from './postgres.js';
import { redisType } from './redis.js';
import type { SinkType } from './types.js';
import { webhookType } from './webhook.js';

export const SINK_TYPES: Record<string, SinkType> = {
  webhook: webhookType,
  postgres: postgresType,
  influxdb: influxdbType,
  redis: redisType,
  kafka: kafkaType,
};
