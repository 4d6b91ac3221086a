/**
 * CONNECT -> CONNACK (section 3.1 and 3.2): client identifier rules, authentication, session
 * takeover and resumption. A pipeline of small checks, each returning a 5.0 reason code; codes
 * are translated for 3.1/3.1.1 clients in one place (../reasons.ts).
 */
import type { ConnackPacket, ConnectPacket, Properties } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import { MQTT_MAX_PACKET_SIZE, type AuthResult, type ConnectInfo } from '../options.js';
import { startEnhancedAuth } from './auth.js';
import { connackCode, reasonName } from '../reasons.js';
import { Session } from '../session.js';

export function handleConnect(channel: Channel, packet: ConnectPacket): void {
  channel.version = packet.protocolVersion;
  const reason = checkClientId(channel, packet);
  if (reason !== ReasonCode.Success) {
    refuse(channel, reason, 'client identifier rejected');
    return;
  }
  const method = packet.properties?.authenticationMethod;
  if (method !== undefined) {
    startEnhancedAuth(channel, packet, method); // 5.0 enhanced authentication (section 4.12)
    return;
  }
  const authenticate = channel.core.options.authenticate;
  if (authenticate === undefined) {
    accept(channel, packet);
    return;
  }
  const result = authenticate(connectInfo(channel, packet));
  if (result instanceof Promise) channel.defer(result, (value) => authenticated(channel, packet, value));
  else authenticated(channel, packet, result);
}

/** [MQTT-3.1.3-6], [MQTT-3.1.3-7], [MQTT-3.1.3-8]: empty client identifiers. */
function checkClientId(channel: Channel, packet: ConnectPacket): number {
  if (packet.clientId.length > 0) return ReasonCode.Success;
  const options = channel.core.options;
  if (!options.allowZeroLengthClientId) return ReasonCode.ClientIdentifierNotValid;
  // 3.1.1 requires Clean Session with an empty id [MQTT-3.1.3-7]; 3.1 requires an id (1-23 chars).
  if (packet.protocolVersion === 3) return ReasonCode.ClientIdentifierNotValid;
  if (packet.protocolVersion === 4 && !packet.clean) return ReasonCode.ClientIdentifierNotValid;
  return ReasonCode.Success;
}

/** What the authentication hooks are told of a CONNECT. */
export function connectInfo(channel: Channel, packet: ConnectPacket): ConnectInfo {
  return {
    clientId: packet.clientId,
    username: channel.username ?? packet.username, // a TLS listener may have set it from the certificate
    password: packet.password,
    remoteAddress: channel.remoteAddress,
    protocolVersion: packet.protocolVersion,
    listener: channel.listener,
    certificate: channel.certificate,
    connectionId: channel.connectionId,
  };
}

function authenticated(channel: Channel, packet: ConnectPacket, result: AuthResult): void {
  if (result === true) accept(channel, packet);
  else refuse(channel, result === false ? ReasonCode.BadUserNameOrPassword : result, 'authentication failed');
}

/** Answer CONNACK with a failure code and close [MQTT-3.2.2-5]. */
export function refuse(channel: Channel, reason: number, why: string): void {
  channel.send({ type: 'connack', sessionPresent: false, reasonCode: connackCode(channel.version, reason) }); // [MQTT-3.2.2-4]
  channel.core.log.info(
    { clientId: channel.clientId || undefined, remote: channel.remoteAddress, reason: reasonName(reason) },
    `connection refused: ${why}`,
  );
  channel.terminate(why, false);
}

/** Accept the connection; `auth` holds the 5.0 enhanced authentication result for CONNACK. */
export function accept(channel: Channel, packet: ConnectPacket, auth?: Properties): void {
  const core = channel.core;
  const options = core.options;
  const assigned = packet.clientId.length === 0 ? core.assignClientId() : undefined;
  const clientId = assigned ?? packet.clientId;
  channel.clientId = clientId;
  channel.username ??= packet.username;
  channel.will = packet.will;
  channel.keepalive = Math.min(packet.keepalive, options.maxKeepalive);
  const props = packet.properties;
  if (packet.protocolVersion === 5) {
    if (props?.receiveMaximum !== undefined) channel.receiveMaximum = Math.min(props.receiveMaximum, options.maxInflightMessages);
    channel.clientMaximumPacketSize = props?.maximumPacketSize ?? 0;
    channel.problemInformation = props?.requestProblemInformation !== 0;
    channel.topicAliasMaximum = options.topicAliasMaximum;
    channel.outAliasMaximum = options.outboundTopicAliases ? (props?.topicAliasMaximum ?? 0) : 0;
  }

  // Session takeover: the existing connection of this client id is closed [MQTT-3.1.4-2].
  const previous = core.connected.get(clientId);
  if (previous !== undefined) {
    core.log.info({ clientId, remote: channel.remoteAddress }, 'client id in use: taking over the session');
    previous.takenOver();
  }

  let session = core.sessions.get(clientId);
  if (session !== undefined && packet.clean) {
    // Clean Session / Clean Start discards any existing session [MQTT-3.1.2-6].
    core.removeSession(session);
    session = undefined;
  }
  const sessionPresent = session !== undefined; // [MQTT-3.2.2-1], [MQTT-3.2.2-2], [MQTT-3.2.2-3]
  if (session === undefined) {
    session = new Session(clientId, core);
    core.sessions.set(clientId, session);
  }
  clearTimeout(session.expiryTimer);
  core.cancelWill(session);
  session.expiryInterval =
    packet.protocolVersion === 5 ? (props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : (options.persistentClientExpiration ?? 0xffffffff);
  channel.session = session;
  // A session that outlives its connection is stored (the persistence issue's contract).
  if (session.expiryInterval > 0) core.persistence?.saveSession(session, 0);
  // A resumed session that now ends with its connection (5.0 Session Expiry 0) must not come back
  // after a crash: its stored state goes before the CONNACK (which waits for that commit).
  else core.persistence?.dropSession(session);
  channel.state = 'connected';
  core.connected.set(clientId, channel);
  core.stats.clientsConnected++;
  core.stats.clientsTotal++;

  const connack: ConnackPacket = { type: 'connack', sessionPresent, reasonCode: 0 };
  if (packet.protocolVersion === 5) connack.properties = { ...connackProperties(channel, packet, assigned), ...auth };
  channel.send(connack);
  core.logConnection(
    { clientId, remote: channel.remoteAddress, protocol: core.protocolLabel(packet.protocolVersion), clean: packet.clean, keepalive: packet.keepalive },
    'client connected',
  );
  session.attach(channel); // re-send unacknowledged messages, then the queue [MQTT-4.4.0-1]
  // info() builds (and keeps) an object: only when someone listens.
  if (core.events.listenerCount('clientConnected') > 0) core.events.emit('clientConnected', channel.info());
}

/** What a 5.0 CONNACK announces of this server (section 3.2.2.3). */
function connackProperties(channel: Channel, packet: ConnectPacket, assigned: string | undefined): Properties {
  const options = channel.core.options;
  const properties: Properties = {
    receiveMaximum: options.maxInflightMessages,
    topicAliasMaximum: channel.topicAliasMaximum,
  };
  // Absent means no limit beyond the protocol's (some clients refuse values above 268435455).
  if (options.maxPacketSize < MQTT_MAX_PACKET_SIZE) properties.maximumPacketSize = options.maxPacketSize;
  if (assigned !== undefined) properties.assignedClientIdentifier = assigned; // [MQTT-3.2.2-16]
  if (packet.keepalive !== channel.keepalive) properties.serverKeepAlive = channel.keepalive; // [MQTT-3.2.2-21]
  if (!options.retainAvailable) properties.retainAvailable = 0;
  if (packet.properties?.requestResponseInformation === 1) {
    properties.responseInformation = `${options.responseInformation}${channel.clientId}`;
  }
  return properties;
}
