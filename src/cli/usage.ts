/**
 * What every `cicada` command shares for its command line: the usage error (one line, then
 * where to find the usage, as Mosquitto's tools print it) and the version line.
 */
import { readFileSync } from 'node:fs';

/** A mistake on the command line: printed as one line, then `Use '... --help' to see usage.` */
export class CliUsageError extends Error {}

/** mosquitto_pub's shape: `Error: Invalid QoS given: 3` + blank line + where to find the usage. */
export function usageErrorText(command: string, message: string): string {
  return `Error: ${message}\n\nUse '${command} --help' to see usage.\n`;
}

/** Where a tool writes (the process's stdout and stderr, or a test's buffers). */
export interface ToolIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: ToolIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

let cached: string | undefined;

/** The package's version (package.json, read once). */
export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cached = pkg.version ?? 'unknown';
  }
  return cached;
}

/** `cicada pub version 0.1.0 running on Node.js v20.20.2.` (as `mosquitto_pub --version`). */
export function versionLine(command: string): string {
  return `${command} version ${packageVersion()} running on Node.js ${process.version}.\n`;
}
