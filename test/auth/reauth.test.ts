// MQTT 5.0 re-authentication (AUTH 0x19 after CONNACK) and the AUTH-only rule before CONNACK,
// at the byte level with a raw socket (packets built with Cicada's codec; the SCRAM exchange
// itself is checked against MQTT.js in scram.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createBroker, scramCredentials, scramSha256, ScramClient, SCRAM_SHA_256 } from '../../src/index.js';
import { encode, Parser, type Packet } from '../../src/protocol/index.js';

class Wire {
  private readonly parser = new Parser({ version: 5 });
  private readonly packets: Packet[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk, { onPacket: (p) => this.packets.push(p) });
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }
  send(packet: Packet): void {
    this.socket.write(encode(packet, 5));
  }
  async next(timeoutMs = 3000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length === 0) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timeout waiting for a packet');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.packets.shift() as Packet;
  }
}

async function setup(t: { after(fn: () => Promise<void> | void): void }): Promise<Wire> {
  const broker = createBroker({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    sysInterval: 0,
    authMethods: { [SCRAM_SHA_256]: scramSha256({ lookup: (name) => (name === 'bob' ? scramCredentials('builder') : undefined) }) },
  });
  await broker.listen();
  const socket = connect(broker.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  t.after(async () => {
    socket.destroy();
    await broker.close();
  });
  return new Wire(socket);
}

async function scramExchange(wire: Wire, password: string, first: (data: Buffer) => Packet): Promise<{ scram: ScramClient; last: Packet }> {
  const scram = new ScramClient('bob', password);
  wire.send(first(scram.first()));
  const challenge = await wire.next();
  assert.equal(challenge.type, 'auth');
  assert.equal((challenge as { reasonCode?: number }).reasonCode, 0x18);
  const data = challenge.type === 'auth' ? challenge.properties?.authenticationData : undefined;
  assert.ok(data !== undefined);
  wire.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: scram.final(data) } });
  return { scram, last: await wire.next() };
}

const connectWith = (data: Buffer): Packet => ({
  type: 'connect',
  protocolName: 'MQTT',
  protocolVersion: 5,
  clean: true,
  keepalive: 30,
  clientId: 'reauth',
  properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: data },
});

test('re-authentication: AUTH 0x19 runs a new exchange and ends with AUTH 0x00 carrying the server signature', async (t) => {
  const wire = await setup(t);
  const { last: connack } = await scramExchange(wire, 'builder', connectWith);
  assert.equal(connack.type, 'connack');
  const { scram, last } = await scramExchange(wire, 'builder', (data) => ({
    type: 'auth',
    reasonCode: 0x19,
    properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: data },
  }));
  assert.equal(last.type, 'auth');
  assert.equal((last as { reasonCode?: number }).reasonCode, 0);
  const final = last.type === 'auth' ? last.properties?.authenticationData : undefined;
  assert.ok(final !== undefined && scram.verify(final));
});

test('re-authentication with a wrong password ends the connection with DISCONNECT 0x87', async (t) => {
  const wire = await setup(t);
  await scramExchange(wire, 'builder', connectWith);
  const { last } = await scramExchange(wire, 'wrong', (data) => ({
    type: 'auth',
    reasonCode: 0x19,
    properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: data },
  }));
  assert.equal(last.type, 'disconnect');
  assert.equal((last as { reasonCode?: number }).reasonCode, 0x87);
});

test('before CONNACK only AUTH may follow a CONNECT with an authentication method: a PUBLISH is a protocol error', async (t) => {
  const wire = await setup(t);
  wire.send(connectWith(new ScramClient('bob', 'builder').first()));
  assert.equal((await wire.next()).type, 'auth');
  wire.send({ type: 'publish', topic: 'x', payload: Buffer.from('y'), qos: 0, retain: false, dup: false });
  await assert.rejects(wire.next(), /connection closed/);
});

test('an AUTH with another method than CONNECT is a protocol error [MQTT-4.12.0-5]', async (t) => {
  const wire = await setup(t);
  await scramExchange(wire, 'builder', connectWith);
  wire.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'OTHER', authenticationData: Buffer.from('x') } });
  const reply = await wire.next();
  assert.equal(reply.type, 'disconnect');
  assert.equal((reply as { reasonCode?: number }).reasonCode, 0x82);
});
