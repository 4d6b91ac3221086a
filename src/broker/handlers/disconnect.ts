/**
 * DISCONNECT from the client (section 3.14): the will is discarded without being published
 * [MQTT-3.14.4-3], unless a 5.0 client asks for it with reason 0x04. A 5.0 client may change
 * its Session Expiry Interval here, but not from 0 to non-zero [MQTT-3.14.2-2].
 */
import type { DisconnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';

export function handleDisconnect(channel: Channel, packet: DisconnectPacket): void {
  const expiry = packet.properties?.sessionExpiryInterval;
  const session = channel.session;
  if (expiry !== undefined && session !== undefined) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      channel.fail('session expiry changed from 0 in DISCONNECT', ReasonCode.ProtocolError);
      return;
    }
    session.expiryInterval = expiry;
  }
  const publishWill = packet.reasonCode === ReasonCode.DisconnectWithWillMessage;
  channel.terminate('client disconnected', publishWill);
}
