/**
 * MQTT control packets as plain typed objects, one shape for all three protocol versions.
 *
 * Versions are the CONNECT protocol level: 3 = MQTT 3.1 ("MQIsdp"), 4 = MQTT 3.1.1, 5 = MQTT 5.0.
 * Fields that exist only in 5.0 (properties, reason codes on acknowledgements) are optional and
 * ignored when encoding for 3/4.
 *
 * Canonical form (what the decoder produces, so decode(encode(p)) deep-equals p):
 * - `properties` is present only for version 5 and only when at least one property is set;
 *   unset properties are absent (never `undefined`).
 * - `reasonCode` on PUBACK/PUBREC/PUBREL/PUBCOMP/DISCONNECT/AUTH is present only for version 5
 *   (0 when the packet omitted it); UNSUBACK `reasonCodes` only for version 5.
 * - `packetId` on PUBLISH is present only when qos > 0.
 * - Binary fields are Buffers; on decode they are views into the received bytes (no copy).
 */

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

/** Fixed-header packet type numbers [MQTT-2.2.1]. */
export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;
export type PacketTypeName = keyof typeof PacketType;

/** MQTT 5.0 properties (section 2.2.2.2). One bag for every packet; the codec checks which
 * property may appear in which packet. */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four-byte integer
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Buffer; // 0x09
  /** 0x0B variable byte integer; PUBLISH may carry several, SUBSCRIBE exactly one. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13 two-byte integer
  authenticationMethod?: string; // 0x15
  authenticationData?: Buffer; // 0x16
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21 two-byte integer
  topicAliasMaximum?: number; // 0x22 two-byte integer
  topicAlias?: number; // 0x23 two-byte integer
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  /** 0x26 string pairs, in order, repeats allowed. */
  userProperties?: Array<[string, string]>;
  maximumPacketSize?: number; // 0x27 four-byte integer
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifierAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Will properties (5.0 only). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  /** "MQIsdp" for version 3, "MQTT" for 4 and 5. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1/3.1.1) or Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** Return code (3.1/3.1.1) or reason code (5.0). */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present only when qos > 0. */
  packetId?: number;
  properties?: Properties;
}

export interface AckPacket {
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  packetId: number;
  /** 5.0 only. */
  reasonCode?: number;
  properties?: Properties;
}

export interface Subscription {
  topicFilter: string;
  /** Requested maximum QoS. */
  qos: QoS;
  /** 5.0 subscription options; absent for 3.1/3.1.1. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** Granted QoS (0, 1, 2) or failure (0x80 in 3.1.1, reason codes >= 0x80 in 5.0). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** 5.0 only. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}

export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** 5.0 only. */
  reasonCode?: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 'auth';
  /** 5.0 only packet. */
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
