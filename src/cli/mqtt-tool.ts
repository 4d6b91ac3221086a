/**
 * What `cicada pub` and `cicada sub` share once their flags are read: connecting with
 * mosquitto-style one-line errors, `-d` packet tracing, and exit codes.
 *
 * Exit codes follow mosquitto_pub/mosquitto_sub: 0 success, 1 error (bad flag, network error),
 * the CONNACK code when the connection is refused (3.1.1: 1-5, 5.0: 0x80-0xA2), 7 when the
 * connection is lost before CONNACK (MOSQ_ERR_CONN_LOST), 8 for a TLS failure (MOSQ_ERR_TLS).
 */
import type { Packet } from '../protocol/index.js';
import { connackReason, connect, ConnectionRefusedError, MqttClientError, ProtocolViolationError, reasonText, type MqttClient } from '../client/index.js';
import type { Target } from './mqtt-flags.js';
import { CliUsageError, usageErrorText, versionLine, type ToolIo } from './usage.js';

export { processIo, type ToolIo } from './usage.js';

/** mosquitto's exit codes for a connection that failed before CONNACK. */
export const EXIT_CONN_LOST = 7;
export const EXIT_TLS = 8;

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
    const failure = connectFailure(error as Error, target);
    if (!target.quiet) io.err(`Error: ${failure.text}\n`);
    throw new ToolExit(failure.code);
  }
}

/** A connection that failed before CONNACK, in one line with mosquitto's exit code. */
export function connectFailure(error: Error, target: Pick<Target, 'url' | 'options'>): { text: string; code: number } {
  const where = target.options.unixPath ?? target.url;
  if (error instanceof ProtocolViolationError) return { text: `${where} is not an MQTT server (its answer to CONNECT is not a CONNACK).`, code: 1 };
  const cause = (error.cause ?? error) as NodeJS.ErrnoException;
  const code = cause.code ?? '';
  // OpenSSL's messages run over lines; its `reason` is the readable part (`tlsv13 alert certificate required`).
  const reason = (cause as { reason?: unknown }).reason;
  const detail = typeof reason === 'string' ? reason : cause.message.split('\n')[0]!;
  if (isTlsError(code, cause.message)) return { text: `A TLS error occurred: ${detail} (${where}).`, code: EXIT_TLS };
  if (code === 'ECONNRESET' || code === 'EPIPE' || /closed (before CONNACK|by the server)/.test(error.message)) {
    return { text: `The connection was lost (${where}): ${error.message}.`, code: EXIT_CONN_LOST };
  }
  return { text: error.message, code: 1 };
}

/** Certificate and handshake failures of node:tls / OpenSSL. */
function isTlsError(code: string, message: string): boolean {
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/.test(code) || /SSL routines|alert/.test(message);
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

/** `--help` / `--version` of a tool, printed on stdout; undefined when neither was asked for. */
export function helpOrVersion(command: string, usage: string, io: ToolIo, flags: { has(name: string): boolean }): number | undefined {
  if (flags.has('help')) io.out(`${versionLine(command)}\n${usage}`);
  else if (flags.has('version')) io.out(versionLine(command));
  else return undefined;
  return 0;
}

/**
 * Runs a tool body, turning usage errors (one line, then where to find the usage) and ToolExit
 * into exit codes.
 */
export async function runTool(command: string, io: ToolIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.err(usageErrorText(command, error.message));
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
