/**
 * The one typed options object of the whole broker, shared by the embeddable API (createBroker)
 * and the CLI (flags and the configuration file are turned into it): the core's options
 * (src/broker/options.ts) and what only the outer layers read: listeners, TLS and security
 * (schemas in src/auth/options.ts), logging, the store's location, the process. Every field has a
 * default in `resolveOptions`; sizes are bytes, durations are named with their unit.
 */
import type { ListenerSecurity, SecurityOptions, TlsOptions } from '../auth/options.js';
import { resolveCoreOptions, type CoreOptions, type ListenerRules, type ResolvedOptions, type RulesDeclaration } from '../broker/options.js';
import type { LogDestination, LogLevel } from '../log/logger.js';

/**
 * One listener: a TCP/TLS port, a WebSocket port, or a unix socket. Its rules for clients
 * (ListenerRules) are read by the core, its TLS and security settings (ListenerSecurity) by
 * src/auth, the rest by src/transport/listeners.ts.
 */
export interface ListenerOptions extends ListenerRules, ListenerSecurity {
  /** Port (ignored for unix sockets). */
  port: number;
  /** 'mqtt' (default) or 'websockets'. */
  protocol?: 'mqtt' | 'websockets';
  /** Most simultaneous connections on this listener (max_connections); 0, negative or undefined: no limit (as Mosquitto). */
  maxConnections?: number;
  /**
   * WebSocket: browser origins allowed to connect (cicada: websockets_origins, as EMQX's
   * check_origins), e.g. 'https://app.example.com'; a handshake with another Origin gets HTTP 403.
   * Unset: any origin when the listener requires authentication, else only localhost pages.
   * Clients that send no Origin (not browsers) are not concerned.
   */
  allowedOrigins?: string[];
  /** WebSocket: upgrade only this path (cicada: websockets_path); default any path, as Mosquitto. */
  websocketsPath?: string;
  /** WebSocket: serve the files of this directory to plain HTTP requests (http_dir). */
  httpDir?: string;
  /** WebSocket: largest HTTP request header in bytes (websockets_headers_size). Default Node's 16 KiB. */
  httpHeadersSize?: number;
}

/** Where the admin HTTP server listens (http_listener PORT [ADDRESS], TLS with the listener TLS directives). */
export interface HttpListenerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** HTTPS. */
  tls?: TlsOptions;
  /** A default, not a setting: when the address is in use, log a warning and run without it. */
  optional?: boolean;
}

export interface BrokerOptions extends CoreOptions {
  /** Address of the default TCP listener. Default 127.0.0.1 (loopback only, as Mosquitto 2). */
  host?: string;
  /** Port of the default TCP listener. Default 1883; 0 picks a free port. */
  port?: number;
  /** Listeners; when given, they replace the default host:port listener. */
  listeners?: ListenerOptions[];
  /**
   * Keep sessions, queued and in-flight messages, retained messages and delayed wills in an
   * embedded SQLite database, so that nothing acknowledged is lost on a crash. Default false for
   * the embeddable API; `cicada broker` turns it on unless the configuration says `persistence false`.
   */
  persistence?: boolean;
  /** Directory of the database (mosquitto.conf persistence_location). Default './data'. */
  persistenceLocation?: string;
  /** File name of the database inside persistenceLocation. Default 'cicada.db'. */
  persistenceFile?: string;
  /** 'normal': survives a crash of the process (default); 'full': also a power cut (fsync per commit). */
  persistenceSync?: 'normal' | 'full';
  /**
   * A Mosquitto persistence file (mosquitto.conf `persistence_file`: inside persistenceLocation
   * when that is given, else relative to the working directory), imported at the first start:
   * when it exists and the Cicada database does not yet.
   */
  mosquittoPersistenceFile?: string;
  /**
   * Before listening, run 12,000 messages through a throwaway in-memory broker (over loopback
   * TCP to a free port) so that V8 has compiled the hot path before the first client arrives
   * (cicada: warm_up). Costs about 0.25 s at start. Default false; `cicada broker` turns it on.
   */
  warmUp?: boolean;
  /**
   * The admin HTTP server (cicada: http_listener): dashboard, /api/v1, /api-docs, /metrics.
   * Default none (undefined or false) for createBroker and for a configuration file without
   * http_listener; `cicada broker` without a configuration file serves it on 127.0.0.1:18083.
   */
  http?: HttpListenerOptions | false;
  /** API keys of the admin HTTP API, `key:secret:role` per line (cicada: http_api_key_file). */
  httpApiKeyFile?: string;
  /** /metrics needs a key or a dashboard session too (cicada: http_metrics_auth). Default false. */
  httpMetricsAuth?: boolean;
  /** Authentication and authorization for all listeners (or the default of each listener). */
  security?: SecurityOptions;
  /** Security settings are per listener (per_listener_settings). Default false. */
  perListenerSettings?: boolean;
  /** Rules and sinks as declared (`sink`, `rule`, `sql`, `action`); compiled and run by src/rules (docs/rules.md). */
  rules?: RulesDeclaration;
  /** Where logs go (log_dest, several at once): stdout (default), stderr, a file, syslog, or nowhere. */
  logDest?: LogDestination | LogDestination[];
  /** Mosquitto log types to write (log_type); when given, they replace logLevel. */
  logTypes?: string[];
  /** 'text' (Mosquitto's line shape) or 'json' lines (log_format). Default: text on a terminal, else json. */
  logFormat?: 'text' | 'json';
  /** Text lines start with a timestamp (log_timestamp). Default true. */
  logTimestamp?: boolean;
  /** strftime format of the text timestamp (log_timestamp_format). Default: seconds since the epoch. */
  logTimestampFormat?: string;
  /** Syslog facility number (log_facility N: localN). Default 3 (daemon). */
  logFacility?: number;
  /** The configuration file the options came from (for the start-up banner). */
  configFile?: string;
  /** Write the process id to this file at start, remove it at exit (pid_file). */
  pidFile?: string;
  /** When started as root, switch to this user after opening the listeners (user). */
  user?: string;
  /** Log level of the broker's logger. Default 'info'. */
  logLevel?: LogLevel;
  /** Pretty (human) logs instead of JSON lines. Default: when stdout is a terminal. */
  logPretty?: boolean;
}

/** BrokerOptions with every default applied. */
export interface ResolvedBrokerOptions extends ResolvedOptions {
  host: string;
  port: number;
  listeners: ListenerOptions[];
  persistence: boolean;
  persistenceLocation: string;
  persistenceFile: string;
  persistenceSync: 'normal' | 'full';
  logLevel: LogLevel;
  logPretty: boolean;
}

export function resolveOptions(options: BrokerOptions = {}): ResolvedBrokerOptions {
  return {
    ...resolveCoreOptions(options),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 1883,
    listeners: options.listeners ?? [{ port: options.port ?? 1883, host: options.host ?? '127.0.0.1' }],
    persistence: options.persistence ?? false,
    persistenceLocation: options.persistenceLocation ?? './data',
    persistenceFile: options.persistenceFile ?? 'cicada.db',
    persistenceSync: options.persistenceSync ?? 'normal',
    logLevel: options.logLevel ?? 'info',
    logPretty: options.logPretty ?? process.stdout.isTTY === true,
  };
}
