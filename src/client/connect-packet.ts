/** The CONNECT packet for the client's options. */
import type { ConnectPacket } from '../protocol/index.js';
import { toProperties, type ConnectOptions, type Endpoint, type ResolvedOptions } from './options.js';

export function buildConnect(resolved: ResolvedOptions, options: ConnectOptions, endpoint: Endpoint): ConnectPacket {
  const version = resolved.protocolVersion;
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: resolved.clean,
    keepalive: resolved.keepalive,
    clientId: resolved.clientId,
  };
  const username = options.username ?? endpoint.username;
  const password = options.password ?? endpoint.password;
  if (username !== undefined) packet.username = username;
  if (password !== undefined) packet.password = typeof password === 'string' ? Buffer.from(password) : password;
  const will = options.will;
  if (will !== undefined) {
    packet.will = {
      topic: will.topic,
      payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
      qos: will.qos ?? 0,
      retain: will.retain ?? false,
    };
    if (version === 5 && will.properties !== undefined) packet.will.properties = toProperties(will.properties)!;
  }
  if (version !== 5) return packet;
  const properties = { ...toProperties(options.properties) };
  // 5.0 section 3.1.2.11.2: absent (0), the session ends with the network connection.
  if (resolved.sessionExpiry !== undefined) properties.sessionExpiryInterval = resolved.sessionExpiry;
  if (Object.keys(properties).length > 0) packet.properties = properties;
  return packet;
}
