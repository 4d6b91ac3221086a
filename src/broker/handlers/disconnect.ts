/**
 * DISCONNECT from the client (section 3.14). Only reason 0x00 (Normal disconnection) deletes the
 * will [MQTT-3.1.2-8], [MQTT-3.1.2-10], [MQTT-3.14.4-3]: any other code a client may send (0x04
 * asks for it, 0x80, 0x83, 0x93, ... report an error) leaves it to be published. A code a client
 * may not send (Table 3-10: server-only codes such as 0x8E, or undefined ones such as 0x01 and
 * 0xFF) breaks [MQTT-3.14.2-1]: a Malformed Packet, and the will goes out as for any failure. A
 * 5.0 client may change its Session Expiry Interval here, but not from 0 to non-zero
 * [MQTT-3.14.2-2].
 */
import type { DisconnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import { cappedExpiry } from './connect.js';

/** DISCONNECT reason codes a client may send (MQTT 5.0 Table 3-10, "Sent by" Client or Client/Server). */
const CLIENT_DISCONNECT_CODES: ReadonlySet<number> = new Set([
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
]);

export function handleDisconnect(channel: Channel, packet: DisconnectPacket): void {
  const code = packet.reasonCode ?? ReasonCode.NormalDisconnection;
  if (!CLIENT_DISCONNECT_CODES.has(code)) {
    channel.fail(`DISCONNECT with reason code 0x${code.toString(16)}, which a client may not send [MQTT-3.14.2-1]`, ReasonCode.MalformedPacket);
    return;
  }
  const expiry = packet.properties?.sessionExpiryInterval;
  const session = channel.session;
  if (expiry !== undefined && session !== undefined) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      channel.fail('session expiry changed from 0 in DISCONNECT', ReasonCode.ProtocolError);
      return;
    }
    session.expiryInterval = cappedExpiry(channel, expiry);
  }
  const publishWill = code !== ReasonCode.NormalDisconnection;
  channel.terminate(code === ReasonCode.NormalDisconnection ? 'client disconnected' : `client disconnected with reason 0x${code.toString(16)}`, publishWill);
}
