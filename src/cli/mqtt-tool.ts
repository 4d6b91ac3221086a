/**
 * What `cicada pub` and `cicada sub` share once their flags are read: connecting with
 * mosquitto-style one-line errors, `-d` packet tracing, and exit codes.
 *
 * Exit codes follow mosquitto_pub/mosquitto_sub: 0 success, 1 error (bad flag, network error),
 * the CONNACK code when the connection is refused (3.1.1: 1-5, 5.0: 0x80-0xA2).
 */
import type { Packet } from '../protocol/index.js';
import { connackReason, connect, ConnectionRefusedError, MqttClientError, reasonText, type MqttClient } from '../client/index.js';
import { CliUsageError, type Target } from './mqtt-flags.js';

export interface ToolIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: ToolIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Connects for a tool; on failure prints the reason in one line and throws ToolExit. */
export async function connectTool(target: Target, io: ToolIo, reconnect = false): Promise<MqttClient> {
  const options = { ...target.options };
  if (reconnect) options.reconnect = { initialDelay: 500, maxDelay: 10_000, factor: 2, jitter: 0.5 };
  if (target.debug) options.trace = (direction, packet) => io.out(`Client ${options.clientId ?? ''} ${direction === 'send' ? 'sending' : 'received'} ${describe(packet)}\n`);
  try {
    return await connect(target.url, options);
  } catch (error) {
    if (error instanceof ConnectionRefusedError) {
      if (!target.quiet) io.err(`Connection error: ${connackText(error.reasonCode ?? 0, error.protocolVersion)}\n`);
      throw new ToolExit(error.reasonCode ?? 1);
    }
    if (!target.quiet) io.err(`Error: ${(error as Error).message}\n`);
    throw new ToolExit(1);
  }
}

/** A refused CONNACK in mosquitto's words: "Connection Refused: not authorised." / "Not authorized". */
export function connackText(code: number, version: number): string {
  if (version < 5) return `Connection Refused: ${connackReason(code, version)}.`;
  const text = reasonText(code);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Ends a tool run with this exit code (the message, if any, was printed already). */
export class ToolExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs a tool body, turning usage errors and ToolExit into exit codes. */
export async function runTool(usage: string, io: ToolIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.err(`Error: ${error.message}\n\n${usage}`);
      return 1;
    }
    if (error instanceof ToolExit) return error.code;
    if (error instanceof MqttClientError) {
      io.err(`Error: ${error.message}\n`);
      return 1;
    }
    const e = error as NodeJS.ErrnoException;
    io.err(`Error: ${e.code === 'ENOENT' ? `cannot open ${e.path ?? 'file'}: no such file` : e.message}\n`);
    return 1;
  }
}

/** mosquitto-style one-line description of a packet, for -d. */
export function describe(p: Packet): string {
  switch (p.type) {
    case 'publish':
      return `PUBLISH (d${Number(p.dup)}, q${p.qos}, r${Number(p.retain)}, m${p.packetId ?? 0}, '${p.topic}', ... (${p.payload.length} bytes))`;
    case 'connack':
      return `CONNACK (${p.reasonCode})`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${p.type.toUpperCase()} (m${p.packetId}, rc${p.reasonCode ?? 0})`;
    case 'subscribe':
      return `SUBSCRIBE (Mid: ${p.packetId}, ${p.subscriptions.map((s) => `Topic: ${s.topicFilter}, QoS: ${s.qos}`).join('; ')})`;
    case 'suback':
      return `SUBACK (Mid: ${p.packetId}, ${p.reasonCodes.join(', ')})`;
    case 'unsubscribe':
      return `UNSUBSCRIBE (Mid: ${p.packetId}, ${p.topicFilters.join(', ')})`;
    case 'unsuback':
      return `UNSUBACK (Mid: ${p.packetId})`;
    case 'disconnect':
      return p.reasonCode !== undefined ? `DISCONNECT (${p.reasonCode})` : 'DISCONNECT';
    default:
      return p.type.toUpperCase();
  }
}
