/**
 * The composition root: createBroker wires the options, the logger, the broker core and the
 * listeners together and exposes the public Broker interface. Nothing else imports all layers.
 */
import type { Server } from 'node:net';
import type { Broker, BrokerEvents, BrokerPublish, BrokerStats } from './broker/api.js';
import { BrokerCore } from './broker/core.js';
import { silentLogger, type Logger } from './broker/logger.js';
import { Message } from './broker/message.js';
import { resolveOptions, type BrokerOptions } from './broker/options.js';
import { createLogger } from './log/logger.js';
import { isValidTopicName } from './protocol/index.js';
import { listenTcp } from './transport/tcp.js';

class CicadaBroker implements Broker {
  private readonly core: BrokerCore;
  private servers: Server[] = [];
  private listening = false;

  constructor(options: BrokerOptions, logger: Logger | undefined) {
    const resolved = resolveOptions(options);
    const log = logger ?? (resolved.logLevel === 'silent' ? silentLogger : createLogger(resolved.logLevel, resolved.logPretty));
    this.core = new BrokerCore(resolved, log);
  }

  async listen(): Promise<void> {
    if (this.listening) return;
    const { host, port } = this.core.options;
    this.core.start();
    this.servers.push(await listenTcp(this.core, host, port));
    this.listening = true;
    this.core.log.info({ host, port: this.port }, `listening on mqtt://${host}:${this.port}`);
  }

  get port(): number {
    const address = this.servers[0]?.address();
    return address !== null && typeof address === 'object' ? address.port : this.core.options.port;
  }

  get stats(): Readonly<BrokerStats> {
    return this.core.stats;
  }

  async close(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    this.listening = false;
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.core.stop();
    await Promise.all(closed);
  }

  publish(message: BrokerPublish): void {
    if (!isValidTopicName(message.topic)) throw new TypeError(`invalid topic name: ${JSON.stringify(message.topic)}`);
    const payload = typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload;
    const expiry = message.properties?.messageExpiryInterval;
    this.core.publish(
      new Message(message.topic, payload, message.qos ?? 0, message.retain ?? false, message.properties, undefined, expiry === undefined ? 0 : Date.now() + expiry * 1000),
      undefined,
    );
  }

  on<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this {
    (this.core.events.on as (e: E, l: (...args: BrokerEvents[E]) => void) => void)(event, listener);
    return this;
  }

  off<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this {
    (this.core.events.off as (e: E, l: (...args: BrokerEvents[E]) => void) => void)(event, listener);
    return this;
  }
}

/** Create a broker; call `listen()` to start it. A custom logger may replace the built-in one. */
export function createBroker(options: BrokerOptions = {}, logger?: Logger): Broker {
  return new CicadaBroker(options, logger);
}
