/**
 * The MQTT codec (3.1, 3.1.1, 5.0): packet types, encoder, incremental parser, validation.
 * Imports nothing outside src/protocol.
 */
export * from './packets.js';
export * from './reason-codes.js';
export { CodecError, CodecErrorCode } from './errors.js';
export type { CodecErrorCodeName } from './errors.js';
export { encode, encodePublish, publishPacketIdOffset } from './encode.js';
export { decode } from './decode.js';
export { Parser } from './parser.js';
export type { PacketHandler, ParserOptions } from './parser.js';
export { isValidUtf8String, isValidTopicName, isValidTopicFilter, parseSharedFilter } from './validate.js';
