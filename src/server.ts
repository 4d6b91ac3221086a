/**
 * The composition root: createBroker wires the options, the logger, the broker core, the
 * security providers (src/auth) and the listeners together and exposes the public Broker
 * interface. Nothing else imports all layers.
 */
import type { Broker, BrokerEvents, BrokerPublish, BrokerStats, HookRegistry } from './broker/api.js';
import { BrokerEventListeners } from './broker/events.js';
import { BrokerCore } from './broker/core.js';
import { warmUpStandIns } from './broker/hooks.js';

export { alteredMessage } from './broker/hooks.js';
import { silentLogger, type Logger } from './broker/logger.js';
import { Message } from './broker/message.js';
import { warmUpOptions } from './broker/options.js';
import { resolveOptions, type BrokerOptions, type HttpListenerOptions, type ListenerOptions, type ResolvedBrokerOptions } from './config/schema.js';
import type { Storage } from './broker/storage.js';
import { SqliteStorage } from './storage/sqlite.js';
import { lockDataDirectory, type DirectoryLock } from './storage/lock.js';
import { pendingMosquittoImport, runPendingImport, type PendingImport } from './migrate.js';
import { join } from 'node:path';
import { Security, securityConfigured, type SecuredListener } from './auth/index.js';
import { createLogger, typesForLevel, type LogType } from './log/logger.js';
import { BROKER_VERSION } from './broker/sys.js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isValidTopicName } from './protocol/index.js';
import { ReasonCode } from './protocol/reason-codes.js';
import { warmUp } from './transport/warm-up.js';
import { disableRawTcp, rawTcpAvailable } from './transport/raw-tcp.js';
import { ConnectionRate, listenerName, startListener, type RunningListener } from './transport/listeners.js';
import { startRules, type RunningRules } from './rules/index.js';
import { AdminFacade, type ListenerState } from './broker/admin.js';
import type { AdminContext, AdminHttp } from './admin/http.js';
import type { FastifyInstance } from 'fastify';

class CicadaBroker implements Broker {
  private readonly core: BrokerCore;
  private storage: Storage | undefined;
  private lock: DirectoryLock | undefined;
  /** A Mosquitto persistence file to import into the new store when the broker starts. */
  private pendingImport: PendingImport | undefined;
  private readonly security: Security | undefined;
  private readonly named: SecuredListener<ListenerOptions>[];
  private running: RunningListener[] = [];
  private listening = false;
  private readonly warm: boolean;
  private readonly configFile: string | undefined;
  /** The rule engine, when rules are declared (src/rules). */
  readonly rules: RunningRules | undefined;
  private readonly resolved: ResolvedBrokerOptions;
  private readonly events: BrokerEventListeners;
  private readonly hookRegistry: HookRegistry;
  private admin: AdminHttp | undefined;

  constructor(
    private readonly options: BrokerOptions,
    logger: Logger | undefined,
  ) {
    const resolved = resolveOptions(options);
    this.resolved = resolved;
    this.warm = options.warmUp === true;
    this.configFile = options.configFile;
    const log = logger ?? makeLogger(resolved, options);
    this.named = nameListeners(resolved);
    if (securityConfigured(options.security, options.perListenerSettings === true, resolved.listeners)) {
      this.security = new Security(options.security ?? {}, options.perListenerSettings === true, this.named, log);
      const methods = this.security.authMethods();
      if (methods !== undefined) resolved.authMethods = { ...methods, ...resolved.authMethods };
    }
    if (resolved.persistence) {
      // One broker per data directory: a second one stops here, naming the owner.
      this.lock = lockDataDirectory(resolved.persistenceLocation);
      try {
        // First start with a Mosquitto persistence_file in the configuration: import it.
        this.pendingImport = pendingMosquittoImport(resolved, options);
        this.storage = openStorage(resolved);
      } catch (error) {
        this.lock.release();
        throw error;
      }
    }
    this.core = new BrokerCore(resolved, log, this.storage);
    this.core.onFatal = (error) => this.fatal(error);
    // On the hook chain after the embedder's option hooks (registered by the core at priority 0),
    // which therefore take precedence over the declared security settings.
    this.security?.register(this.core.hooks);
    this.events = new BrokerEventListeners(this.core.hooks);
    const chain = this.core.hooks;
    this.hookRegistry = Object.freeze<HookRegistry>({ add: chain.add.bind(chain) });
    if (options.rules !== undefined) this.rules = startRules(this, options.rules, log, resolved.sysInterval);
  }

  async listen(): Promise<void> {
    if (this.listening) return;
    const core = this.core;
    core.log.info({ type: 'notice' }, `cicada version ${BROKER_VERSION} starting`);
    if (this.warm) await this.warmUp();
    try {
      await this.importAndRestore();
    } catch (error) {
      await this.close();
      throw error;
    }
    core.start();
    const rate = new ConnectionRate(core.options.connectionRateLimit);
    let admin: Awaited<ReturnType<CicadaBroker['prepareAdminHttp']>>;
    try {
      // Built before the MQTT listeners open (loading Fastify and compiling the schemas takes a
      // moment), so that listen() resolves, and signals are handled, soon after they accept.
      admin = await this.prepareAdminHttp();
      for (const { name, options } of this.named) {
        const anonymous = this.security?.admitsAnonymous(name) ?? !core.hooks.has('client.authenticate');
        const listener = await startListener(core, options, name, rate, anonymous).catch((error: unknown) => {
          const e = error as NodeJS.ErrnoException;
          const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.message;
          const where = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port}`;
          throw new Error(`cannot listen on ${where}: ${why}`, { cause: error });
        });
        this.running.push(listener);
        core.log.info({ listener: name, url: listener.url, transport: listener.transport }, `listening on ${listener.url}`);
      }
      if (admin !== undefined) await this.openAdminHttp(admin);
    } catch (error) {
      if (this.admin === undefined) await admin?.app.close();
      await this.close();
      throw error;
    }
    this.listening = true;
    this.warnAboutAnonymous();
    try {
      this.writePidFile();
      this.logRunning();
      this.switchUser();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Before listening: the first start's import of a Mosquitto file, then the restore from the store. */
  private async importAndRestore(): Promise<void> {
    const pending = this.pendingImport;
    this.pendingImport = undefined;
    if (pending !== undefined && this.storage !== undefined) this.core.log.info({ file: pending.file }, await runPendingImport(pending, this.storage));
    await this.core.restore();
  }

  /** The admin HTTP server's app (http_listener: dashboard, /api/v1, /metrics), not listening yet; none unless asked for. */
  private async prepareAdminHttp(): Promise<{ app: FastifyInstance; context: AdminContext; listen: HttpListenerOptions } | undefined> {
    const listen = this.options.http;
    if (listen === undefined || listen === false) return undefined;
    const core = this.core;
    // Loaded only when asked for: Fastify costs start-up time to brokers that serve no HTTP.
    const [{ buildAdminApp }, { ApiKeys, DashboardUsers }] = await Promise.all([import('./admin/http.js'), import('./admin/auth.js')]);
    const keys = this.options.httpApiKeyFile === undefined ? ApiKeys.none() : ApiKeys.read(this.options.httpApiKeyFile);
    const users = DashboardUsers.open(this.resolved.persistenceLocation, core.log);
    const admin = new AdminFacade(core);
    admin.listenerStates = () => this.listenerStates();
    const context: AdminContext = { core, admin, log: core.log, users, keys, options: this.options, reload: () => this.reload() };
    return { app: await buildAdminApp(context, listen.tls), context, listen };
  }

  private async openAdminHttp({ app, context, listen }: { app: FastifyInstance; context: AdminContext; listen: HttpListenerOptions }): Promise<void> {
    const { listenAdminApp } = await import('./admin/http.js');
    try {
      this.admin = await listenAdminApp(app, context, listen);
    } catch (error) {
      if (listen.optional !== true) throw error;
      this.core.log.warn({ err: error }, `${(error as Error).message}: running without the admin HTTP server (set http_listener in a configuration file)`);
    }
  }

  private listenerStates(): ListenerState[] {
    return this.named.map(({ name, options }) => {
      const running = this.running.find((l) => l.name === name);
      const url = running?.url ?? '';
      return { name, url, port: running?.port ?? options.port, protocol: options.protocol ?? 'mqtt', tls: options.tls !== undefined, running: running !== undefined, connections: 0 };
    });
  }

  /** The start-up banner: version, configuration file, data directory, listeners, local only. */
  private logRunning(): void {
    const options = this.resolved;
    const local = this.named.every((l) => l.options.path !== undefined || isLoopback(l.options.host));
    const data = options.persistence ? join(options.persistenceLocation, options.persistenceFile) : 'none (persistence false)';
    const http = this.admin === undefined ? [] : [this.admin.url];
    const httpLocal = this.options.http === undefined || this.options.http === false || isLoopback(this.options.http.host);
    const where = `${[...this.urls, ...http].join(', ')}${local && httpLocal ? ' (local only)' : ''}`;
    this.core.log.info({ type: 'notice' }, `cicada version ${BROKER_VERSION} running: config ${this.configFile ?? 'none'}, data ${data}, listening on ${where}`);
  }

  /** pid_file: the process id, written once the listeners are open, removed at close. */
  private writePidFile(): void {
    const path = this.options.pidFile;
    if (path === undefined) return;
    try {
      writeFileSync(path, `${process.pid}\n`);
    } catch (error) {
      throw new Error(`pid_file: cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
    }
  }

  /** user: started as root, drop to this user (and its group) once the listeners are open. */
  private switchUser(): void {
    const user = this.options.user;
    if (user === undefined || process.getuid?.() !== 0 || process.setuid === undefined || process.setgid === undefined) return;
    try {
      process.setgid(primaryGroup(user) ?? user);
      process.setuid(user);
    } catch (error) {
      throw new Error(`user: cannot switch to user ${user} (${(error as Error).message})`, { cause: error });
    }
    this.core.log.info({ type: 'notice', user }, `running as user ${user}`);
  }

  /**
   * JIT warm-up (transport/warm-up.ts) on a throwaway core with this broker's options (no hooks,
   * default limits), a silent log and no store: nothing of it reaches this broker's clients,
   * hooks, stats, store or log.
   */
  private async warmUp(): Promise<void> {
    const raw = rawTcpAvailable();
    if ((await this.warmUpOnce()) === undefined || !raw) return;
    // The warm-up ran on the raw TCP handle (raw-tcp.ts): its traffic is the semantic check of
    // the Node internals it uses. Short within its budget may only mean a busy machine, so a
    // small exchange without hurry decides: failed or short again, plain TCP takes net.Server.
    const failure = await this.warmUpOnce(RAW_TCP_CHECK);
    if (failure === undefined) return;
    disableRawTcp(failure);
    this.core.log.warn({ why: failure }, `plain TCP falls back to net.Server for this run: warm-up on the raw TCP handle ${failure}`);
    await this.warmUpOnce();
  }

  /** One warm-up on a throwaway core; what went wrong, or undefined when every message arrived. */
  private async warmUpOnce(check?: typeof RAW_TCP_CHECK): Promise<string | undefined> {
    const started = Date.now();
    const scratch = new BrokerCore(warmUpOptions(this.core.options), silentLogger, undefined);
    warmUpStandIns(this.core.hooks, scratch.hooks);
    try {
      const { expected, received, refused } = check === undefined ? await warmUp(scratch) : await warmUp(scratch, check.messages, 1, 0, check.budgetMs);
      const fields = { ms: Date.now() - started, messages: received };
      if (refused > 0) this.core.log.warn({ refused }, 'warm-up listener refused connections from other processes');
      if (received === expected) {
        // A detail for whoever tunes start-up, not for users: debug.
        this.core.log.debug(fields, check === undefined ? 'warmed up' : 'the raw TCP handle passed its check');
        return undefined;
      }
      const failure = `delivered only ${received} of ${expected} messages`;
      this.core.log.warn(fields, `${check === undefined ? 'warm-up' : 'check of the raw TCP handle'} ${failure}`);
      return failure;
    } catch (error) {
      // E.g. no loopback port to be had: the broker starts cold rather than not at all.
      this.core.log.warn({ err: error }, 'warm-up skipped');
      return `failed: ${(error as Error).message}`;
    } finally {
      scratch.stop();
    }
  }

  /** Loud: anyone on the network may connect without credentials. */
  private warnAboutAnonymous(): void {
    const exposed =
      this.security?.exposedAnonymous() ??
      (!this.core.hooks.has('client.authenticate') ? this.named.filter((l) => l.options.path === undefined && !isLoopback(l.options.host)).map((l) => l.name) : []);
    for (const name of exposed) {
      this.core.log.warn(
        { listener: name },
        `SECURITY WARNING: anonymous clients are allowed on ${name}, which is reachable from the network. Set allow_anonymous false and configure password_file, certificates, JWT or http_auth_url.`,
      );
    }
  }

  /**
   * Re-read password and ACL files (SIGHUP). Every later delivery is checked against the new
   * rules; clients whose user is gone from the password file, or whose password no longer
   * verifies, are disconnected (5.0: DISCONNECT 0x87).
   */
  reload(): void {
    const core = this.core;
    const security = this.security;
    security?.reload();
    core.rightsChanged(); // also for an embedder's client.authorize hook on deliveries
    if (security === undefined) return;
    for (const channel of [...core.connected.values()]) {
      const why = security.revoked(channel.info());
      if (why !== undefined) channel.fail(`${why} (reload)`, ReasonCode.NotAuthorized);
    }
  }

  get port(): number {
    return this.running[0]?.port ?? this.resolved.port;
  }

  /** Where each listener accepts clients (after listen). */
  get urls(): string[] {
    return this.running.map((l) => l.url);
  }

  /** The admin HTTP server's URL, when it listens (http_listener). */
  get httpUrl(): string | undefined {
    return this.admin?.url;
  }

  get stats(): Readonly<BrokerStats> {
    return this.core.stats;
  }

  async close(): Promise<void> {
    const running = this.running;
    this.running = [];
    const wasListening = this.listening;
    this.listening = false;
    const closed = running.map((listener) => listener.close());
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) closed.push(admin.close());
    this.core.stop();
    await Promise.all(closed);
    await this.rules?.close();
    const storage = this.storage;
    this.storage = undefined;
    try {
      // Commits what is left after the commit in flight (a store broken by a failed commit only closes).
      if (storage !== undefined) await (this.core.persistence?.close() ?? storage.close());
    } catch (error) {
      this.fatal(error);
    }
    this.lock?.release();
    this.lock = undefined;
    if (!wasListening) return;
    if (this.options.pidFile !== undefined) rmSync(this.options.pidFile, { force: true });
    this.core.log.info({ type: 'notice' }, `cicada version ${BROKER_VERSION} terminating`);
  }

  /** Stop without acknowledging anything more; `fatal` listeners (the CLI: exit status 1) learn why. */
  private fatal(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.storage !== undefined) void this.close();
    this.events.fatal(err);
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

  get hooks(): HookRegistry {
    return this.hookRegistry;
  }

  on<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): this {
    this.events.off(event, listener);
    return this;
  }
}

/** The persistence store the options ask for: SQLite in persistenceLocation. */
function openStorage(options: ResolvedBrokerOptions): Storage {
  return new SqliteStorage(join(options.persistenceLocation, options.persistenceFile), { sync: options.persistenceSync });
}

/** The primary group id of a user, from /etc/passwd (as Mosquitto's getpwnam). */
function primaryGroup(user: string): number | undefined {
  try {
    const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith(`${user}:`));
    const gid = entry?.split(':')[3];
    return gid === undefined ? undefined : Number(gid);
  } catch {
    return undefined;
  }
}

function isLoopback(host: string | undefined): boolean {
  const h = host ?? '127.0.0.1';
  return h === 'localhost' || h === '::1' || h.startsWith('127.');
}

/** Listener names (for per-listener settings and logs), unique even with two port-0 listeners. */
function nameListeners(options: ResolvedBrokerOptions): SecuredListener<ListenerOptions>[] {
  const seen = new Set<string>();
  return options.listeners.map((listener, i) => {
    let name = listenerName(listener);
    if (seen.has(name)) name = `${name}#${i + 1}`;
    seen.add(name);
    return { name, options: listener };
  });
}

/** The logger the log_* options ask for (Mosquitto's types, destinations and line shape). */
function makeLogger(resolved: ResolvedBrokerOptions, options: BrokerOptions): Logger {
  const dest = options.logDest ?? { kind: 'stdout' };
  const destinations = (Array.isArray(dest) ? dest : [dest]).filter((d) => d.kind !== 'none');
  const types = options.logTypes !== undefined ? new Set(options.logTypes as LogType[]) : typesForLevel(resolved.logLevel);
  if (destinations.length === 0 || types.size === 0) return silentLogger;
  return createLogger({
    types,
    format: options.logFormat ?? (resolved.logPretty ? 'text' : 'json'),
    destinations,
    timestamp: options.logTimestamp ?? true,
    ...(options.logTimestampFormat !== undefined ? { timestampFormat: options.logTimestampFormat } : {}),
    facility: options.logFacility ?? 3,
  });
}

/** Create a broker; call `listen()` to start it. A custom logger may replace the built-in one. */
/** The unhurried second look at the raw TCP handle after a short warm-up: messages per version, time. */
const RAW_TCP_CHECK = { messages: 300, budgetMs: 5000 };

export function createBroker(options: BrokerOptions = {}, logger?: Logger): Broker {
  return new CicadaBroker(options, logger);
}
