/**
 * The composition root: createBroker wires the options, the logger, the broker core, the
 * security providers (src/auth) and the listeners together and exposes the public Broker
 * interface. Nothing else imports all layers.
 */
import { pino } from 'pino';
import type { Broker, BrokerEvents, BrokerPublish, BrokerStats } from './broker/api.js';
import { BrokerCore } from './broker/core.js';
import { silentLogger, type Logger } from './broker/logger.js';
import { Message } from './broker/message.js';
import { resolveOptions, warmUpOptions, type BrokerOptions, type ResolvedOptions } from './broker/options.js';
import type { Storage } from './broker/storage.js';
import { SqliteStorage } from './storage/sqlite.js';
import { join } from 'node:path';
import { Security, securityConfigured, type SecuredListener } from './auth/index.js';
import { createLogger } from './log/logger.js';
import { isValidTopicName } from './protocol/index.js';
import { warmUp } from './transport/warm-up.js';
import { ConnectionRate, listenerName, startListener, type RunningListener } from './transport/listeners.js';

class CicadaBroker implements Broker {
  private readonly core: BrokerCore;
  private storage: Storage | undefined;
  private readonly security: Security | undefined;
  private readonly named: SecuredListener[];
  private running: RunningListener[] = [];
  private listening = false;
  private readonly warm: boolean;

  constructor(options: BrokerOptions, logger: Logger | undefined) {
    const resolved = resolveOptions(options);
    this.warm = options.warmUp === true;
    const log = logger ?? makeLogger(resolved, options.logDest);
    this.named = nameListeners(resolved);
    if (securityConfigured(options.security, options.perListenerSettings === true, resolved.listeners)) {
      // Hooks given by an embedder take precedence over the declared security settings.
      this.security = new Security(options.security ?? {}, options.perListenerSettings === true, this.named, log);
      const hooks = this.security.hooks();
      resolved.authenticate ??= hooks.authenticate;
      resolved.authorizePublish ??= hooks.authorizePublish;
      resolved.authorizeSubscribe ??= hooks.authorizeSubscribe;
      resolved.authorizeRead ??= hooks.authorizeRead;
    }
    this.storage = openStorage(resolved);
    this.core = new BrokerCore(resolved, log, this.storage);
    this.core.onFatal = (error) => this.fatal(error);
    const security = this.security;
    if (security !== undefined) {
      this.core.events.on('clientConnected', (client) => security.connected(client));
      this.core.events.on('clientDisconnected', (client) => security.disconnected(client));
    }
  }

  async listen(): Promise<void> {
    if (this.listening) return;
    const core = this.core;
    if (this.warm) await this.warmUp();
    core.restore();
    core.start();
    const rate = new ConnectionRate(core.options.connectionRateLimit);
    try {
      for (const { name, options } of this.named) {
        const listener = await startListener(core, options, name, rate).catch((error: unknown) => {
          const e = error as NodeJS.ErrnoException;
          const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.message;
          const where = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port}`;
          throw new Error(`cannot listen on ${where}: ${why}`, { cause: error });
        });
        this.running.push(listener);
        core.log.info({ listener: name, url: listener.url, transport: listener.transport }, `listening on ${listener.url}`);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    this.listening = true;
    this.warnAboutAnonymous();
  }

  /**
   * JIT warm-up (transport/warm-up.ts) on a throwaway core with this broker's options (no hooks,
   * default limits), a silent log and no store: nothing of it reaches this broker's clients,
   * hooks, stats, store or log.
   */
  private async warmUp(): Promise<void> {
    const started = Date.now();
    const scratch = new BrokerCore(warmUpOptions(this.core.options), silentLogger, undefined);
    try {
      const { expected, received } = await warmUp(scratch);
      const fields = { ms: Date.now() - started, messages: received };
      if (received === expected) this.core.log.info(fields, 'warmed up');
      else this.core.log.warn(fields, `warm-up delivered only ${received} of ${expected} messages`);
    } catch (error) {
      // E.g. no loopback port to be had: the broker starts cold rather than not at all.
      this.core.log.warn({ err: error }, 'warm-up skipped');
    } finally {
      scratch.stop();
    }
  }

  /** Loud: anyone on the network may connect without credentials. */
  private warnAboutAnonymous(): void {
    const exposed =
      this.security?.exposedAnonymous() ??
      (this.core.options.authenticate === undefined ? this.named.filter((l) => l.options.path === undefined && !isLoopback(l.options.host)).map((l) => l.name) : []);
    for (const name of exposed) {
      this.core.log.warn(
        { listener: name },
        `SECURITY WARNING: anonymous clients are allowed on ${name}, which is reachable from the network. Set allow_anonymous false and configure password_file, certificates, JWT or http_auth_url.`,
      );
    }
  }

  /** Re-read password and ACL files (SIGHUP). */
  reload(): void {
    this.security?.reload();
  }

  get port(): number {
    return this.running[0]?.port ?? this.core.options.port;
  }

  /** Where each listener accepts clients (after listen). */
  get urls(): string[] {
    return this.running.map((l) => l.url);
  }

  get stats(): Readonly<BrokerStats> {
    return this.core.stats;
  }

  async close(): Promise<void> {
    const running = this.running;
    this.running = [];
    this.listening = false;
    const closed = running.map((listener) => listener.close());
    this.core.stop();
    await Promise.all(closed);
    const storage = this.storage;
    this.storage = undefined;
    try {
      storage?.close(); // commits what is left (a store broken by a failed commit only closes)
    } catch (error) {
      this.fatal(error);
    }
  }

  /** Stop without acknowledging anything more; `fatal` listeners (the CLI: exit status 1) learn why. */
  private fatal(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.storage !== undefined) void this.close();
    this.core.events.emit('fatal', err);
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

/** The persistence store the options ask for: SQLite in persistenceLocation, or none. */
function openStorage(options: ResolvedOptions): Storage | undefined {
  if (!options.persistence) return undefined;
  return new SqliteStorage(join(options.persistenceLocation, options.persistenceFile), { sync: options.persistenceSync });
}

function isLoopback(host: string | undefined): boolean {
  const h = host ?? '127.0.0.1';
  return h === 'localhost' || h === '::1' || h.startsWith('127.');
}

/** Listener names (for per-listener settings and logs), unique even with two port-0 listeners. */
function nameListeners(options: ResolvedOptions): SecuredListener[] {
  const seen = new Set<string>();
  return options.listeners.map((listener, i) => {
    let name = listenerName(listener);
    if (seen.has(name)) name = `${name}#${i + 1}`;
    seen.add(name);
    return { name, options: listener };
  });
}

/** The logger log_dest asks for: stdout (pino, pretty on a terminal), stderr, a file, or none. */
function makeLogger(options: ResolvedOptions, logDest: BrokerOptions['logDest']): Logger {
  const dest = logDest ?? { kind: 'stdout' };
  if (options.logLevel === 'silent' || dest.kind === 'none') return silentLogger;
  if (dest.kind === 'stdout') return createLogger(options.logLevel, options.logPretty);
  const destination = dest.kind === 'file' ? pino.destination({ dest: dest.path, sync: false }) : pino.destination({ fd: 2, sync: false });
  return pino({ level: options.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** Create a broker; call `listen()` to start it. A custom logger may replace the built-in one. */
export function createBroker(options: BrokerOptions = {}, logger?: Logger): Broker {
  return new CicadaBroker(options, logger);
}
