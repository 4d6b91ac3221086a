/**
 * Structured logs with pino: JSON lines for machines, or pino-pretty's readable lines on a
 * terminal. pino was chosen because it is the fastest maintained Node logger and its JSON
 * output is what log pipelines (Loki, ELK) ingest directly.
 */
import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../broker/logger.js';
import type { LogLevel } from '../broker/options.js';

export function createLogger(level: LogLevel, prettyOutput: boolean): Logger {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (prettyOutput) {
    return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
  }
  return pino(options, pino.destination({ fd: 1, sync: false, minLength: 4096, periodicFlush: 100 }));
}
