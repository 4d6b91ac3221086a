/**
 * CONNECT -> CONNACK (section 3.1 and 3.2): client identifier rules, authentication, session
 * takeover and resumption. A pipeline of small checks, each returning a 5.0 reason code; codes
 * are translated for 3.1/3.1.1 clients in one place (../reasons.ts).
 */
import type { ConnackPacket, ConnectPacket, Properties } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import { MQTT_MAX_PACKET_SIZE, type AuthGrant, type AuthResult, type ConnectInfo } from '../options.js';
import { startEnhancedAuth } from './auth.js';
import { connackCode, reasonName } from '../reasons.js';
import type { OpenedSession } from '../registry.js';

export function handleConnect(channel: Channel, packet: ConnectPacket): void {
  channel.version = packet.protocolVersion;
  const reason = checkClientId(channel, packet);
  if (reason !== ReasonCode.Success) {
    refuse(channel, reason, 'client identifier rejected', packet);
    return;
  }
  if (packet.will?.retain === true && !channel.core.options.retainAvailable) {
    refuseRetainedWill(channel);
    return;
  }
  if (packet.protocolVersion !== 5 && keepaliveAboveMax(packet.keepalive, channel.core.options.maxKeepalive)) {
    // 3.1/3.1.1 cannot be told another Keep Alive: refused openly rather than cut off early.
    refuse(channel, ReasonCode.ClientIdentifierNotValid, `keep alive ${packet.keepalive} above max_keepalive`, packet);
    return;
  }
  if (channel.identityFromCertificate && channel.username === undefined) {
    // [Mosquitto] use_identity_as_username / use_subject_as_username: the certificate is the
    // identity; one without a CN (or subject) names no one, and the CONNECT user name is not asked.
    refuse(channel, ReasonCode.NotAuthorized, 'the client certificate names no user', packet);
    return;
  }
  // use_username_as_clientid: the user name is the client id; without one, not authorized.
  if (channel.listenerOptions?.useUsernameAsClientId === true) {
    const username = channel.username ?? packet.username;
    if (username === undefined) {
      refuse(channel, ReasonCode.NotAuthorized, 'no user name (use_username_as_clientid)', packet);
      return;
    }
    packet.clientId = username;
  }
  const method = packet.properties?.authenticationMethod;
  if (method !== undefined) {
    startEnhancedAuth(channel, packet, method); // 5.0 enhanced authentication (section 4.12)
    return;
  }
  const hooks = channel.core.hooks;
  if (!hooks.has('client.authenticate')) {
    accept(channel, packet);
    return;
  }
  const result = hooks.authenticate(connectInfo(channel, packet));
  if (result instanceof Promise) channel.defer(result, (value) => authenticated(channel, packet, value));
  else authenticated(channel, packet, result);
}

/** [MQTT-3.1.3-6], [MQTT-3.1.3-7], [MQTT-3.1.3-8]: empty client identifiers. */
function checkClientId(channel: Channel, packet: ConnectPacket): number {
  const options = channel.core.options;
  // clientid_prefixes: only ids with the prefix may connect (Mosquitto answers Not authorized).
  if (options.clientIdPrefixes !== '' && !packet.clientId.startsWith(options.clientIdPrefixes)) return ReasonCode.NotAuthorized;
  if (packet.clientId.length > 0) return ReasonCode.Success;
  if (!options.allowZeroLengthClientId) return ReasonCode.ClientIdentifierNotValid;
  // 3.1.1 requires Clean Session with an empty id [MQTT-3.1.3-7]; 3.1 requires an id (1-23 chars).
  if (packet.protocolVersion === 3) return ReasonCode.ClientIdentifierNotValid;
  if (packet.protocolVersion === 4 && !packet.clean) return ReasonCode.ClientIdentifierNotValid;
  return ReasonCode.Success;
}

/**
 * A will with Will Retain 1 while retained messages are not available [MQTT-3.2.2-13]: 5.0 gets
 * CONNACK 0x9A (Retain not supported); 3.1.1 has no return code for it, so the connection is
 * closed without CONNACK, as Mosquitto does.
 */
function refuseRetainedWill(channel: Channel): void {
  const why = 'will with Will Retain 1 while retain is not available';
  if (channel.version === 5) {
    refuse(channel, ReasonCode.RetainNotSupported, why);
    return;
  }
  channel.core.log.info({ remote: channel.remoteAddress, reason: reasonName(ReasonCode.RetainNotSupported) }, `connection refused: ${why}`);
  channel.terminate(why, false);
}

/**
 * Whether a requested Keep Alive exceeds `max_keepalive` (0: no limit, as Mosquitto's). Keep Alive
 * 0 (never checked) exceeds any limit an operator set below the protocol's 65535, as in Mosquitto;
 * at the default 65535 it stays allowed (Mosquitto 2.0.12+ refuses 3.1.1 clients with Keep Alive 0
 * even there, which broke clients whose libraries send 0).
 */
function keepaliveAboveMax(keepalive: number, max: number): boolean {
  if (max === 0) return false;
  return keepalive > max || (keepalive === 0 && max < 65_535);
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
  if (typeof result === 'object') {
    granted(channel, result);
    accept(channel, packet);
  } else if (result === true) accept(channel, packet);
  else refuse(channel, result === false ? ReasonCode.BadUserNameOrPassword : result, 'authentication failed', packet);
}

/** What an authenticator established: the user name, and when the credentials expire. */
export function granted(channel: Channel, grant: AuthGrant): void {
  if (grant.username !== undefined) channel.username = grant.username;
  channel.credentialsExpireAt = grant.expiresAt ?? 0;
}

/** Answer CONNACK with a failure code and close [MQTT-3.2.2-5]. */
export function refuse(channel: Channel, reason: number, why: string, packet?: ConnectPacket): void {
  channel.send({ type: 'connack', sessionPresent: false, reasonCode: connackCode(channel.version, reason) }); // [MQTT-3.2.2-4]
  const clientId = channel.clientId || packet?.clientId || undefined;
  const username = channel.username ?? packet?.username;
  channel.core.log.info(
    { clientId, username, remote: channel.remoteAddress, reason: reasonName(reason) },
    `connection refused: ${why} (client ${clientId ?? '(none)'}, user ${username ?? '(none)'})`,
  );
  const hooks = channel.core.hooks;
  if (hooks.has('client.connack')) {
    const client = { clientId: clientId ?? '', username, remoteAddress: channel.remoteAddress, listener: channel.listener, connectionId: channel.connectionId };
    hooks.notify('client.connack', client, reason);
  }
  channel.terminate(why, false);
}

/** Accept the connection; `auth` holds the 5.0 enhanced authentication result for CONNACK. */
export function accept(channel: Channel, packet: ConnectPacket, auth?: Properties): void {
  const core = channel.core;
  const options = core.options;
  const assigned = packet.clientId.length === 0 ? core.registry.assignClientId() : undefined;
  channel.clientId = assigned ?? packet.clientId;
  channel.username ??= packet.username;
  channel.will = packet.will;
  // 5.0: a Keep Alive above max_keepalive gets Server Keep Alive = max_keepalive [MQTT-3.2.2-21];
  // 3.1/3.1.1 clients above it were refused in handleConnect.
  channel.keepalive = keepaliveAboveMax(packet.keepalive, options.maxKeepalive) ? options.maxKeepalive : packet.keepalive;
  const props = packet.properties;
  if (packet.protocolVersion === 5) {
    if (props?.receiveMaximum !== undefined) channel.receiveMaximum = Math.min(props.receiveMaximum, options.maxInflightMessages);
    channel.clientMaximumPacketSize = props?.maximumPacketSize ?? 0;
    channel.problemInformation = props?.requestProblemInformation !== 0;
    channel.topicAliasMaximum = channel.listenerOptions?.maxTopicAlias ?? options.topicAliasMaximum;
    channel.outAliasMaximum = options.outboundTopicAliases ? (props?.topicAliasMaximum ?? 0) : 0;
  }
  const expiryInterval =
    packet.protocolVersion === 5 ? cappedExpiry(channel, props?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : (options.persistentClientExpiration ?? 0xffffffff);
  // Take-over, clean start, resumption: the registry's (synchronous when the claim is local).
  const opened = core.registry.open(channel, packet.clean, expiryInterval);
  if (opened instanceof Promise) channel.defer(opened.then(releasedIfClosed(channel)), (result) => connected(channel, packet, result, assigned, auth));
  else connected(channel, packet, opened, assigned, auth);
}

/** A channel closed while its claim was pending: the session it was given is released again. */
function releasedIfClosed(channel: Channel): (opened: OpenedSession) => OpenedSession {
  return (opened) => {
    if (channel.state === 'closed') channel.core.registry.release(channel, opened.session);
    return opened;
  };
}

/** The session is open: CONNACK, then the session's re-sends and queue. */
function connected(channel: Channel, packet: ConnectPacket, opened: OpenedSession, assigned: string | undefined, auth: Properties | undefined): void {
  const core = channel.core;
  const session = opened.session;
  channel.state = 'connected';
  const stats = core.stats;
  if (++stats.clientsConnected > stats.clientsMaximum) stats.clientsMaximum = stats.clientsConnected;
  stats.clientsTotal++;

  const connack: ConnackPacket = { type: 'connack', sessionPresent: opened.present, reasonCode: 0 };
  if (packet.protocolVersion === 5) connack.properties = { ...connackProperties(channel, packet, assigned), ...auth };
  channel.send(connack);
  const clientId = channel.clientId;
  const username = channel.username;
  core.logConnection(
    { clientId, username, remote: channel.remoteAddress, protocol: core.protocolLabel(packet.protocolVersion), clean: packet.clean, keepalive: packet.keepalive },
    'client connected',
  );
  connectedHooks(channel, opened.present);
  session.attach(channel); // re-send unacknowledged messages, then the queue [MQTT-4.4.0-1]
  if (core.hooks.has('client.connected')) core.hooks.notify('client.connected', channel.info());
  authorizeWill(channel);
}

/** `client.connack` (accepted) and `session.created` or `session.resumed`; info() builds (and keeps) an object: only when someone listens. */
function connectedHooks(channel: Channel, sessionPresent: boolean): void {
  const hooks = channel.core.hooks;
  if (hooks.has('client.connack')) hooks.notify('client.connack', channel.info(), ReasonCode.Success);
  const point = sessionPresent ? 'session.resumed' : 'session.created';
  if (hooks.has(point)) hooks.notify(point, channel.info());
}

/**
 * A will must pass the publish authorization of its topic, QoS and retain flag. If it does not,
 * the connection stays and the will is dropped, as Mosquitto does (it is checked again when sent).
 */
function authorizeWill(channel: Channel): void {
  const will = channel.will;
  const hooks = channel.core.hooks;
  if (will === undefined || !hooks.authorizes('publish')) return;
  const drop = (allowed: boolean): void => {
    if (allowed || channel.will !== will) return;
    channel.will = undefined;
    channel.core.log.info({ clientId: channel.clientId, topic: will.topic }, 'will not authorized: dropped');
  };
  const allowed = hooks.authorize('publish', channel.info(), will.topic, will.qos, will.retain);
  if (allowed instanceof Promise) channel.defer(allowed, drop);
  else drop(allowed);
}

/** A 5.0 Session Expiry Interval, at most persistent_client_expiration (as Mosquitto). */
export function cappedExpiry(channel: Channel, seconds: number): number {
  const cap = channel.core.options.persistentClientExpiration;
  return cap !== undefined && cap > 0 ? Math.min(seconds, cap) : seconds;
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
  // Section 3.2.2.3.2: a Session Expiry Interval other than the client's is announced.
  const expiry = channel.session?.expiryInterval ?? 0;
  if (expiry !== (packet.properties?.sessionExpiryInterval ?? 0)) properties.sessionExpiryInterval = expiry;
  if (packet.keepalive !== channel.keepalive) properties.serverKeepAlive = channel.keepalive; // [MQTT-3.2.2-21]
  if (!options.retainAvailable) properties.retainAvailable = 0;
  const maxQos = channel.listenerOptions?.maxQos;
  if (maxQos !== undefined && maxQos < 2) properties.maximumQoS = maxQos; // max_qos [MQTT-3.2.2-11]
  if (packet.properties?.requestResponseInformation === 1) {
    properties.responseInformation = `${options.responseInformation}${channel.clientId}`;
  }
  return properties;
}
