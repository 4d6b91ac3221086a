/**
 * Internal outcomes become MQTT codes here and nowhere else: 5.0 reason codes are the broker's
 * internal currency; this module maps them to the 3.1/3.1.1 return codes older clients expect.
 */
import { ConnectReturnCode, ReasonCode, SubackFailure } from '../protocol/reason-codes.js';
import type { ProtocolVersion } from '../protocol/packets.js';

/** CONNACK code for a 5.0 reason, in the numbering of the client's protocol version. */
export function connackCode(version: ProtocolVersion, reason: number): number {
  if (version === 5) return reason;
  switch (reason) {
    case ReasonCode.Success:
      return ConnectReturnCode.Accepted;
    case ReasonCode.UnsupportedProtocolVersion:
      return ConnectReturnCode.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ConnectReturnCode.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword:
      return ConnectReturnCode.BadUsernameOrPassword;
    case ReasonCode.NotAuthorized:
    case ReasonCode.Banned:
    case ReasonCode.BadAuthenticationMethod:
      return ConnectReturnCode.NotAuthorized;
    default:
      return ConnectReturnCode.ServerUnavailable;
  }
}

/** SUBACK code for a refused subscription. */
export function subackFailure(version: ProtocolVersion, reason: number): number {
  return version === 5 ? reason : SubackFailure;
}

/** Human-readable name of a reason code, for logs. */
export function reasonName(code: number): string {
  for (const [name, value] of Object.entries(ReasonCode)) if (value === code && code !== 0) return name;
  return code === 0 ? 'Success' : `0x${code.toString(16)}`;
}
