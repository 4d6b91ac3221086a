// MQTT 5.0 enhanced authentication (section 4.12) with SCRAM-SHA-256, end to end with MQTT.js as
// the client: CONNECT -> AUTH 0x18 -> AUTH 0x18 -> CONNACK carrying the server signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IConnackPacket } from 'mqtt';
import type { IAuthPacket } from 'mqtt-packet';
import { createBroker, scramCredentials, scramSha256, ScramClient, SCRAM_SHA_256 } from '../../src/index.js';

const users = new Map([['alice', scramCredentials('wonderland')]]);

async function withBroker(t: { after(fn: () => Promise<void>): void }): Promise<number> {
  const broker = createBroker({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    sysInterval: 0,
    authMethods: { [SCRAM_SHA_256]: scramSha256({ lookup: (name) => users.get(name) }) },
  });
  await broker.listen();
  t.after(() => broker.close());
  return broker.port;
}

/** Connect with MQTT.js running the client side of SCRAM; resolves with the CONNACK. */
function scramConnect(port: number, user: string, password: string, method = SCRAM_SHA_256): Promise<{ connack: IConnackPacket; scram: ScramClient; client: mqtt.MqttClient; auths: number }> {
  const scram = new ScramClient(user, password);
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    properties: { authenticationMethod: method, authenticationData: scram.first() },
  });
  let auths = 0;
  client.handleAuth = (packet: IAuthPacket, callback: (err?: Error, packet?: IAuthPacket) => void) => {
    auths++;
    const data = packet.properties?.authenticationData;
    if (data === undefined) return callback(new Error('no authentication data'));
    callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: scram.final(data) } });
  };
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ connack, scram, client, auths }));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
  });
}

test('[MQTT-4.12.0-5] SCRAM-SHA-256: the exchange succeeds, CONNACK carries the method and a server signature the client verifies', async (t) => {
  const port = await withBroker(t);
  const { connack, scram, client } = await scramConnect(port, 'alice', 'wonderland');
  t.after(() => client.endAsync());
  assert.equal(connack.reasonCode, 0);
  assert.equal(connack.properties?.authenticationMethod, SCRAM_SHA_256);
  const serverFinal = connack.properties?.authenticationData;
  assert.ok(serverFinal !== undefined && scram.verify(serverFinal), 'server signature verifies');
  // The authenticated client is served.
  await client.subscribeAsync('scram/t', { qos: 1 });
  const got = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
  await client.publishAsync('scram/t', 'hi', { qos: 1 });
  assert.equal(await got, 'hi');
});

test('SCRAM-SHA-256: a wrong password is refused with CONNACK 0x87 Not authorized', async (t) => {
  const port = await withBroker(t);
  await assert.rejects(scramConnect(port, 'alice', 'wrong'), (error: Error & { code?: number }) => error.code === 0x87);
});

test('SCRAM-SHA-256: an unknown user is refused the same way as a wrong password', async (t) => {
  const port = await withBroker(t);
  await assert.rejects(scramConnect(port, 'mallory', 'x'), (error: Error & { code?: number }) => error.code === 0x87);
});

test('an unsupported authentication method gets CONNACK 0x8C Bad authentication method', async (t) => {
  const port = await withBroker(t);
  await assert.rejects(scramConnect(port, 'alice', 'wonderland', 'KERBEROS'), (error: Error & { code?: number }) => error.code === 0x8c);
});
