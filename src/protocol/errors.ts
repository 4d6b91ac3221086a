/**
 * The codec's one error type. Every failure to decode or validate bytes is a CodecError whose
 * `reasonCode` is the MQTT 5.0 reason code the broker should answer with (0x81 Malformed Packet,
 * 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x95 Packet Too Large, ...), and whose
 * `code` is a stable identifier from the catalog below.
 */
export const CodecErrorCode = {
  MalformedRemainingLength: 'MALFORMED_REMAINING_LENGTH',
  ReservedFlags: 'RESERVED_FLAGS',
  InvalidQoS: 'INVALID_QOS',
  InvalidUtf8: 'INVALID_UTF8',
  InvalidTopicName: 'INVALID_TOPIC_NAME',
  InvalidTopicFilter: 'INVALID_TOPIC_FILTER',
  MissingPacketId: 'MISSING_PACKET_ID',
  PacketTooLarge: 'PACKET_TOO_LARGE',
  UnsupportedProtocolVersion: 'UNSUPPORTED_PROTOCOL_VERSION',
  InvalidProtocolName: 'INVALID_PROTOCOL_NAME',
  InvalidProperty: 'INVALID_PROPERTY',
  UnknownPacketType: 'UNKNOWN_PACKET_TYPE',
  Malformed: 'MALFORMED_PACKET',
  ProtocolError: 'PROTOCOL_ERROR',
} as const;
export type CodecErrorCodeName = (typeof CodecErrorCode)[keyof typeof CodecErrorCode];

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCodeName,
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A Malformed Packet error (reason code 0x81) with a catalog code. */
export function malformed(message: string, code: CodecErrorCodeName = CodecErrorCode.Malformed): CodecError {
  return new CodecError(code, 0x81, message);
}

/** A Protocol Error (reason code 0x82) with a catalog code. */
export function protocolError(message: string, code: CodecErrorCodeName = CodecErrorCode.ProtocolError): CodecError {
  return new CodecError(code, 0x82, message);
}
