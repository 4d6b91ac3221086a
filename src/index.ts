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
export type { BrokerHooks, ClientInfo, ConnectInfo, AuthResult, AuthGrant } from './broker/options.js';
export type { BrokerOptions, ListenerOptions } from './config/schema.js';
export type { SecurityOptions, TlsOptions } from './auth/options.js';
export type { LogLevel } from './log/logger.js';
export { alteredMessage, createBroker } from './server.js';
export type { AuthMethod, AuthExchange, AuthStep } from './broker/options.js';
export { scramSha256, scramCredentials, ScramClient, SCRAM_SHA_256, type ScramCredentials } from './auth/scram.js';
