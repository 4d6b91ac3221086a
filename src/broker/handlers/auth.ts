/**
 * MQTT 5.0 enhanced authentication (section 4.12): CONNECT with an Authentication Method starts
 * an exchange of AUTH packets driven by an AuthMethod from the options; re-authentication is an
 * AUTH with reason 0x19 after CONNACK. Until CONNACK only AUTH (and DISCONNECT) may come from
 * the client.
 */
import type { AuthPacket, ConnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import type { AuthExchange, AuthStep } from '../options.js';
import { accept, connectInfo, granted, refuse } from './connect.js';

/** Per-connection state of an exchange in progress. */
export interface AuthState {
  method: string;
  exchange: AuthExchange | undefined;
  /** The CONNECT waiting for the exchange to finish (undefined when re-authenticating). */
  connect: ConnectPacket | undefined;
}

export function startEnhancedAuth(channel: Channel, packet: ConnectPacket, method: string): void {
  const auth = channel.core.options.authMethods?.[method];
  if (auth === undefined) {
    refuse(channel, ReasonCode.BadAuthenticationMethod, `unsupported authentication method ${method}`);
    return;
  }
  channel.auth = { method, exchange: auth.start(connectInfo(channel, packet)), connect: packet };
  runStep(channel, packet.properties?.authenticationData);
}

export function handleAuth(channel: Channel, packet: AuthPacket): void {
  const state = channel.auth;
  const method = packet.properties?.authenticationMethod;
  // The method must be the one of CONNECT [MQTT-4.12.0-5]; AUTH without enhanced auth is an error.
  if (state === undefined || method !== state.method) {
    channel.fail('AUTH without the authentication method of CONNECT', ReasonCode.ProtocolError);
    return;
  }
  const reason = packet.reasonCode ?? 0;
  if (state.exchange === undefined) {
    if (reason !== ReasonCode.ReAuthenticate || channel.state !== 'connected') {
      channel.fail('unexpected AUTH', ReasonCode.ProtocolError);
      return;
    }
    const auth = channel.core.options.authMethods?.[method];
    if (auth === undefined) {
      channel.fail(`unsupported authentication method ${method}`, ReasonCode.BadAuthenticationMethod);
      return;
    }
    state.exchange = auth.start({ ...channel.info(), password: undefined, protocolVersion: 5 });
  } else if (reason !== ReasonCode.ContinueAuthentication) {
    channel.fail('AUTH during an exchange must continue it (0x18)', ReasonCode.ProtocolError);
    return;
  }
  runStep(channel, packet.properties?.authenticationData);
}

function runStep(channel: Channel, data: Buffer | undefined): void {
  const exchange = channel.auth?.exchange;
  if (exchange === undefined) return;
  const step = exchange.step(data);
  if (step instanceof Promise) channel.defer(step, (value) => onStep(channel, value));
  else onStep(channel, step);
}

function onStep(channel: Channel, step: AuthStep): void {
  const state = channel.auth;
  if (state === undefined) return;
  const authenticationMethod = state.method;
  if (step.result === 'continue') {
    channel.send({
      type: 'auth',
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: { authenticationMethod, authenticationData: step.data },
    });
    return;
  }
  const connect = state.connect;
  state.exchange = undefined;
  state.connect = undefined;
  if (step.result === 'failure') {
    const code = step.reasonCode ?? ReasonCode.NotAuthorized;
    const why = step.reason ?? 'enhanced authentication failed';
    if (connect !== undefined) refuse(channel, code, why);
    else channel.fail(why, code);
    return;
  }
  if (connect === undefined && step.username !== undefined && step.username !== channel.username) {
    channel.fail(`re-authenticated as ${step.username}, not ${String(channel.username)}`, ReasonCode.NotAuthorized);
    return;
  }
  granted(channel, step); // a fresh token extends the connection's lifetime
  const properties = step.data === undefined ? { authenticationMethod } : { authenticationMethod, authenticationData: step.data };
  if (connect !== undefined) accept(channel, connect, properties);
  else channel.send({ type: 'auth', reasonCode: ReasonCode.Success, properties }); // re-authenticated
}
