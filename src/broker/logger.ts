/**
 * The logging seam of the broker core: the core logs through this interface and never imports a
 * logging library. src/log provides the pino-backed implementation; tests may pass `silentLogger`.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled?(level: string): boolean;
}

const noop: LogFn = () => undefined;
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLogger,
};
