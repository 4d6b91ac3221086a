/**
 * The broker's logger: Mosquitto's log types and destinations, in two formats.
 *
 * - Types (log_type): every line has one of Mosquitto's types (error, warning, notice,
 *   information, debug, subscribe, unsubscribe, websockets); a line is written when its type
 *   is enabled. The type comes from the level (error, warn, info, debug) or a `type` field.
 * - Formats (log_format): `text` is Mosquitto's line shape, `<timestamp>: <message>` (seconds
 *   since the epoch, or log_timestamp_format through strftime; none with log_timestamp false),
 *   the fields after it as key=value; `json` is one object per line (`level` as pino numbers,
 *   `time`, the fields, `msg`).
 * - Destinations (log_dest, several at once): stdout, stderr, a file (buffered, flushed at 4 KiB,
 *   every 100 ms and on exit), syslog (through the `logger` tool to /dev/log, one message per line
 *   with its priority).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import type { LogFn, Logger } from '../broker/logger.js';
import { strftime } from './strftime.js';

/** One log destination (log_dest). */
export type LogDestination = { kind: 'stdout' | 'stderr' | 'none' | 'syslog' } | { kind: 'file'; path: string };

/** Log level of an embedder's logger (logLevel), turned into Mosquitto's types by typesForLevel. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type LogType = 'error' | 'warning' | 'notice' | 'information' | 'debug' | 'subscribe' | 'unsubscribe' | 'websockets';
export const ALL_LOG_TYPES: readonly LogType[] = ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe', 'websockets'];

export interface LogSettings {
  /** Enabled types; Mosquitto's default is error, warning, notice, information. */
  types: ReadonlySet<LogType>;
  format: 'text' | 'json';
  destinations: readonly LogDestination[];
  /** Text format: prefix lines with a timestamp (log_timestamp). */
  timestamp: boolean;
  /** Text format: strftime format of the timestamp (log_timestamp_format); default epoch seconds. */
  timestampFormat?: string;
  /** Syslog facility number (log_facility: local0-7 are 16-23; default daemon, 3). */
  facility: number;
  /** Socket of the syslog daemon. Default /dev/log. */
  syslogSocket?: string;
}

/** The types a log level stands for (for embedders that give logLevel). */
export function typesForLevel(level: LogLevel): Set<LogType> {
  switch (level) {
    case 'trace':
    case 'debug':
      return new Set(ALL_LOG_TYPES);
    case 'info':
      return new Set(['error', 'warning', 'notice', 'information']);
    case 'warn':
      return new Set(['error', 'warning']);
    case 'error':
    case 'fatal':
      return new Set(['error']);
    default:
      return new Set();
  }
}

const LEVEL_NUMBER = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVEL_NUMBER;
const LEVEL_TYPE: Record<Level, LogType> = { trace: 'debug', debug: 'debug', info: 'information', warn: 'warning', error: 'error', fatal: 'error' };
/** Syslog severities of Mosquitto's types. */
const SEVERITY: Record<LogType, number> = { error: 3, warning: 4, notice: 5, information: 6, debug: 7, subscribe: 6, unsubscribe: 6, websockets: 7 };

interface Sink {
  write(line: string, type: LogType): void;
  end(): void;
}

/** Buffered writers to flush when the process exits (one 'exit' listener for all). */
const unflushed = new Set<{ flushSync(): void }>();
let flushOnExit = false;

/** stdout, stderr or a file through pino's buffered SonicBoom writer. */
function streamSink(dest: { fd: number } | { dest: string }): Sink {
  const boom = pino.destination({ ...dest, sync: false, minLength: 4096, periodicFlush: 100 });
  unflushed.add(boom);
  if (!flushOnExit) {
    flushOnExit = true;
    process.once('exit', () => {
      for (const writer of unflushed) writer.flushSync();
    });
  }
  return { write: (line) => boom.write(line + '\n'), end: () => boom.flushSync() };
}

/** Syslog through `logger --prio-prefix`: one long-running process, one message per stdin line. */
function syslogSink(socket: string, facility: number): Sink {
  if (!existsSync(socket)) throw new Error(`log_dest syslog: ${socket} does not exist (no syslog daemon on this machine): use log_dest file or stderr`);
  const child: ChildProcess = spawn('logger', ['--socket-errors=on', '-u', socket, '--prio-prefix', '-t', 'cicada'], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.on('error', () => undefined); // no `logger` tool: reported on stderr by the broker's start-up check
  child.unref();
  const stdin = child.stdin;
  (stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    write: (line, type) => stdin?.write(`<${facility * 8 + (SEVERITY[type] ?? 6)}>${line.replace(/\n/g, ' ')}\n`),
    end: () => stdin?.end(),
  };
}

function sinkFor(dest: LogDestination, settings: LogSettings): Sink | undefined {
  switch (dest.kind) {
    case 'stdout':
      return streamSink({ fd: 1 });
    case 'stderr':
      return streamSink({ fd: 2 });
    case 'file':
      return streamSink({ dest: dest.path });
    case 'syslog':
      return syslogSink(settings.syslogSocket ?? '/dev/log', settings.facility);
    default:
      return undefined;
  }
}

function fieldText(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'bigint' ? String(value) : JSON.stringify(value) ?? 'undefined';
}

function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return typeof value === 'bigint' ? String(value) : value;
}

class TypedLogger implements Logger {
  readonly trace: LogFn;
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  readonly fatal: LogFn;

  constructor(
    private readonly settings: LogSettings,
    private readonly sinks: readonly Sink[],
    private readonly bindings: Record<string, unknown>,
  ) {
    this.trace = this.at('trace');
    this.debug = this.at('debug');
    this.info = this.at('info');
    this.warn = this.at('warn');
    this.error = this.at('error');
    this.fatal = this.at('fatal');
  }

  private at(level: Level): LogFn {
    const enabled = this.settings.types;
    // A level none of whose lines can be written costs one call to a no-op.
    if (level !== 'info' && !enabled.has(LEVEL_TYPE[level])) return () => undefined;
    return ((objOrMsg: object | string, msg?: string) => {
      const fields = typeof objOrMsg === 'string' ? undefined : (objOrMsg as Record<string, unknown>);
      const type = (fields?.type as LogType | undefined) ?? LEVEL_TYPE[level];
      if (!enabled.has(type)) return;
      this.write(level, type, typeof objOrMsg === 'string' ? objOrMsg : (msg ?? ''), fields);
    });
  }

  private write(level: Level, type: LogType, msg: string, fields: Record<string, unknown> | undefined): void {
    const all = fields === undefined ? this.bindings : { ...this.bindings, ...fields };
    const line = this.settings.format === 'json' ? this.json(level, msg, all) : this.text(msg, all);
    for (const sink of this.sinks) sink.write(line, type);
  }

  private json(level: Level, msg: string, fields: Record<string, unknown>): string {
    const { type: _type, ...rest } = fields;
    return JSON.stringify({ level: LEVEL_NUMBER[level], time: new Date().toISOString(), ...rest, msg }, jsonValue);
  }

  private text(msg: string, fields: Record<string, unknown>): string {
    const s = this.settings;
    let line = '';
    if (s.timestamp) {
      const now = new Date();
      line = `${s.timestampFormat === undefined ? Math.floor(now.getTime() / 1000) : strftime(s.timestampFormat, now)}: `;
    }
    line += msg;
    for (const key in fields) {
      if (key === 'type' || fields[key] === undefined) continue;
      line += ` ${key}=${fieldText(fields[key])}`;
    }
    return line;
  }

  child(bindings: Record<string, unknown>): Logger {
    return new TypedLogger(this.settings, this.sinks, { ...this.bindings, ...bindings });
  }

  /** Whether lines of a level (debug, info, ...) or of a log type (subscribe, ...) are written. */
  isLevelEnabled(level: string): boolean {
    const type = (LEVEL_TYPE[level as Level] as LogType | undefined) ?? (level as LogType);
    return this.settings.types.has(type);
  }
}

/** A logger writing to every destination of the settings. Throws when one cannot be opened. */
export function createLogger(settings: LogSettings): Logger {
  const sinks = settings.destinations.map((d) => sinkFor(d, settings)).filter((s): s is Sink => s !== undefined);
  return new TypedLogger(settings, sinks, {});
}
