import type { Broker } from './broker/api.js';
import type { BrokerOptions } from './broker/options.js';

export function createBroker(_options: BrokerOptions = {}): Broker {
  throw new Error('not implemented yet');
}
