/**
 * Cicada's embeddable API: `import { createBroker } from 'cicada'`.
 */
export type { Broker, BrokerEvents, BrokerPublish, BrokerStats, HookRegistry } from './broker/api.js';
export type {
  AuthnResult,
  AuthzAction,
  AuthzResult,
  DeliveryDropReason,
  HookCallbacks,
  HookOptions,
  HookOutcome,
  HookPoint,
  MessageDropReason,
  SessionEndReason,
} from './broker/hooks.js';
export type { Message } from './broker/message.js';
export type { BrokerOptions, BrokerHooks, ClientInfo, ConnectInfo, AuthResult, AuthGrant, LogLevel } from './broker/options.js';
export { alteredMessage, createBroker } from './server.js';
export type { AuthMethod, AuthExchange, AuthStep } from './broker/options.js';
export { scramSha256, scramCredentials, ScramClient, SCRAM_SHA_256, type ScramCredentials } from './auth/scram.js';
