/**
 * The client's error catalog. Every failure the client reports is one of these classes; those
 * that come from the server carry its reason code (5.0) or return code (3.1/3.1.1).
 */
import { ReasonCode } from '../protocol/index.js';

/** Base class: `code` is a stable identifier, `reasonCode` the MQTT code when there is one. */
export class MqttClientError extends Error {
  override name = 'MqttClientError';
  constructor(
    readonly code: string,
    message: string,
    readonly reasonCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** CONNACK refused the connection; `reasonCode` is the CONNACK code as received. */
export class ConnectionRefusedError extends MqttClientError {
  override name = 'ConnectionRefusedError';
  constructor(
    reasonCode: number,
    readonly protocolVersion: number,
    reasonString?: string,
  ) {
    const why = connackReason(reasonCode, protocolVersion);
    super('CONNECTION_REFUSED', `Connection Refused: ${why}${reasonString !== undefined ? ` (${reasonString})` : ''}`, reasonCode);
  }
}

/** The server sent DISCONNECT (5.0). */
export class ServerDisconnectError extends MqttClientError {
  override name = 'ServerDisconnectError';
  constructor(reasonCode: number, reasonString?: string) {
    super('SERVER_DISCONNECT', `server disconnected: ${reasonName(reasonCode)}${reasonString !== undefined ? ` (${reasonString})` : ''}`, reasonCode);
  }
}

/** The transport closed or failed (socket error, TLS failure, timeout, end() while pending). */
export class ConnectionClosedError extends MqttClientError {
  override name = 'ConnectionClosedError';
  constructor(message: string, options?: ErrorOptions) {
    super('CONNECTION_CLOSED', message, undefined, options);
  }
}

/** No answer in time: CONNACK, PINGRESP. */
export class TimeoutError extends MqttClientError {
  override name = 'TimeoutError';
  constructor(what: string) {
    super('TIMEOUT', `${what} timed out`);
  }
}

/** A PUBACK/PUBREC/PUBCOMP (5.0) with a failure reason code. */
export class PublishError extends MqttClientError {
  override name = 'PublishError';
  constructor(reasonCode: number, reasonString?: string) {
    super('PUBLISH_FAILED', `publish refused: ${reasonName(reasonCode)}${reasonString !== undefined ? ` (${reasonString})` : ''}`, reasonCode);
  }
}

/** The offline queue is full, or the client is closed and does not reconnect. */
export class NotConnectedError extends MqttClientError {
  override name = 'NotConnectedError';
  constructor(message: string) {
    super('NOT_CONNECTED', message);
  }
}

/** The server broke the protocol (bad bytes, unexpected packet). */
export class ProtocolViolationError extends MqttClientError {
  override name = 'ProtocolViolationError';
  constructor(message: string, reasonCode: number = ReasonCode.ProtocolError, options?: ErrorOptions) {
    super('PROTOCOL_ERROR', message, reasonCode, options);
  }
}

/** Invalid argument given by the caller (bad topic, bad URL, bad option). */
export class InvalidArgumentError extends MqttClientError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

const V3_CONNACK: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'broker unavailable',
  4: 'bad user name or password',
  5: 'not authorised',
};

/** Words for a CONNACK code, in the manner of mosquitto's `mosquitto_connack_string`. */
export function connackReason(code: number, version: number): string {
  if (version < 5) return V3_CONNACK[code] ?? `unknown return code ${code}`;
  return reasonText(code);
}

/** Name of a 5.0 reason code: `NotAuthorized` -> `not authorized`. */
export function reasonText(code: number): string {
  const name = reasonName(code);
  return name.startsWith('0x') ? `reason code ${name}` : name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

function reasonName(code: number): string {
  if (code === 0) return 'Success';
  for (const [name, value] of Object.entries(ReasonCode)) if (value === code) return name;
  return `0x${code.toString(16).padStart(2, '0')}`;
}
