/**
 * Cicada's embeddable API: `import { createBroker } from 'cicada'`.
 */
export type { Broker, BrokerEvents, BrokerPublish, BrokerStats } from './broker/api.js';
export type { BrokerOptions, BrokerHooks, ClientInfo, ConnectInfo, AuthResult, AuthGrant, LogLevel } from './broker/options.js';
export { createBroker } from './server.js';
export type { AuthMethod, AuthExchange, AuthStep } from './broker/options.js';
export { scramSha256, scramCredentials, ScramClient, SCRAM_SHA_256, type ScramCredentials } from './auth/scram.js';
