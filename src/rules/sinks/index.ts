/** The sink types by the name the `sink` directive uses. */
import type { SinkType } from './types.js';
import { webhookType } from './webhook.js';

export const SINK_TYPES: Record<string, SinkType> = {
  webhook: webhookType,
};
