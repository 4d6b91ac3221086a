// QoS flows of the client against scripted servers (byte-level, using the shared codec) and
// Cicada: DUP on re-send after a reconnect, Receive Maximum, refusals as typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encode, Parser, type Packet, type ProtocolVersion, type PublishPacket } from '../../src/protocol/index.js';
import { connect, ConnectionRefusedError, PublishError, ServerDisconnectError } from '../../src/client/index.js';
import { startBroker } from '../helpers/broker.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/** A scripted server: `onPacket(packet, send, socket, connectionIndex)`. */
async function fakeServer(
  version: ProtocolVersion,
  onPacket: (p: Packet, send: (p: Packet) => void, socket: net.Socket, index: number) => void,
): Promise<{ url: string; close(): void }> {
  let index = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const i = index++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    const parser = new Parser({ version });
    const send = (p: Packet): void => {
      if (!socket.destroyed) socket.write(encode(p, version));
    };
    socket.on('data', (chunk) => parser.push(chunk, { onPacket: (p) => onPacket(p, send, socket, i) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('an unacknowledged QoS 1 publish is sent again with DUP=1 and the same packet id after a reconnect with a resumed session [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async (t) => {
  const seen: Array<{ conn: number; dup: boolean; id: number | undefined }> = [];
  const server = await fakeServer(4, (p, send, socket, conn) => {
    if (p.type === 'connect') send({ type: 'connack', sessionPresent: conn > 0, reasonCode: 0 });
    if (p.type === 'publish') {
      seen.push({ conn, dup: p.dup, id: p.packetId });
      if (conn === 0) socket.destroy(); // lose the connection before PUBACK
      else send({ type: 'puback', packetId: p.packetId! });
    }
  });
  t.after(() => server.close());
  const client = await connect(server.url, { clientId: 'dup', clean: false, reconnect: { initialDelay: 10, maxDelay: 10, factor: 1, jitter: 0 } });
  t.after(() => client.end({ force: true }));
  const result = await withTimeout(client.publish('d/t', 'x', { qos: 1 }), 3000, 'publish completes after the reconnect');
  assert.equal(result.reasonCode, 0);
  assert.deepEqual(seen, [{ conn: 0, dup: false, id: seen[0]!.id }, { conn: 1, dup: true, id: seen[0]!.id }]);
});

test('QoS 2: PUBREL is sent again (not the PUBLISH) when the connection is lost after PUBREC [MQTT-4.4.0-1]', async (t) => {
  const log: string[] = [];
  const server = await fakeServer(4, (p, send, socket, conn) => {
    if (p.type === 'connect') send({ type: 'connack', sessionPresent: conn > 0, reasonCode: 0 });
    if (p.type === 'publish') {
      log.push(`${conn}:publish`);
      send({ type: 'pubrec', packetId: p.packetId! });
    }
    if (p.type === 'pubrel') {
      log.push(`${conn}:pubrel`);
      if (conn === 0) socket.destroy();
      else send({ type: 'pubcomp', packetId: p.packetId });
    }
  });
  t.after(() => server.close());
  const client = await connect(server.url, { clientId: 'q2', clean: false, reconnect: { initialDelay: 10, maxDelay: 10, factor: 1, jitter: 0 } });
  t.after(() => client.end({ force: true }));
  await withTimeout(client.publish('q/2', 'x', { qos: 2 }), 3000, 'QoS 2 completes');
  assert.deepEqual(log, ['0:publish', '0:pubrel', '1:pubrel']);
});

test('5.0: never more unacknowledged QoS 1 publishes than the server\'s Receive Maximum [MQTT-3.3.4-7]', async (t) => {
  let unacked = 0;
  let most = 0;
  const pending: PublishPacket[] = [];
  const server = await fakeServer(5, (p, send) => {
    if (p.type === 'connect') send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 2 } });
    if (p.type === 'publish') {
      unacked++;
      most = Math.max(most, unacked);
      pending.push(p);
      // Acknowledge a little later, one at a time.
      setTimeout(() => {
        const q = pending.shift()!;
        unacked--;
        send({ type: 'puback', packetId: q.packetId!, reasonCode: 0 });
      }, 10);
    }
  });
  t.after(() => server.close());
  const client = await connect(server.url, { protocolVersion: 5 });
  t.after(() => client.end({ force: true }));
  await withTimeout(Promise.all(Array.from({ length: 10 }, (_, i) => client.publish('rm', String(i), { qos: 1 }))), 5000, 'ten publishes');
  assert.equal(most, 2);
});

test('5.0: a publish refused by the server rejects with PublishError carrying the reason code (0x87 from Cicada)', async (t) => {
  const broker = await startBroker({ authorizePublish: (_c, topic) => !topic.startsWith('secret/') });
  t.after(() => broker.close());
  const client = await connect(broker.url, { protocolVersion: 5 });
  t.after(() => client.end({ force: true }));
  await assert.rejects(client.publish('secret/x', 'no', { qos: 1 }), (e: unknown) => e instanceof PublishError && e.reasonCode === 0x87);
  assert.equal((await client.publish('open/x', 'yes', { qos: 1 })).reasonCode, 0);
});

test('5.0: a server DISCONNECT is reported as ServerDisconnectError with its reason code (Cicada shutting down: 0x8B)', async (t) => {
  const broker = await startBroker();
  const client = await connect(broker.url, { protocolVersion: 5, reconnect: false });
  t.after(() => client.end({ force: true }));
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  await broker.close();
  await waitFor(() => client.state === 'closed', 3000, 'closed');
  assert.ok(errors[0] instanceof ServerDisconnectError, String(errors[0]));
  assert.equal(errors[0].reasonCode, 0x8b);
});

test('inbound QoS 2 is delivered once even when the server re-sends the PUBLISH before PUBREL [MQTT-4.3.3-9]', async (t) => {
  let completed = false;
  const server = await fakeServer(4, (p, send) => {
    if (p.type === 'connect') {
      send({ type: 'connack', sessionPresent: false, reasonCode: 0 });
      const publish: PublishPacket = { type: 'publish', topic: 'in/2', payload: Buffer.from('once'), qos: 2, retain: false, dup: false, packetId: 7 };
      setTimeout(() => {
        send(publish);
        send({ ...publish, dup: true });
      }, 20);
    }
    if (p.type === 'pubrec') send({ type: 'pubrel', packetId: p.packetId });
    if (p.type === 'pubcomp') completed = true;
  });
  t.after(() => server.close());
  const client = await connect(server.url);
  t.after(() => client.end({ force: true }));
  const got: string[] = [];
  client.on('message', (m) => got.push(m.payload.toString()));
  // The PUBCOMP answers the PUBREL, which answers a PUBREC sent after both PUBLISHes arrived.
  await waitFor(() => completed, 3000, 'the PUBCOMP');
  assert.deepEqual(got, ['once']);
});

test('5.0 enhanced authentication: the client answers AUTH challenges (Cicada authMethods) [MQTT-4.12.0-5]', async (t) => {
  const broker = await startBroker({
    authMethods: {
      TOY: {
        start: () => {
          let round = 0;
          return {
            step: (data) => {
              round++;
              if (round === 1) return data?.toString() === 'hello' ? { result: 'continue', data: Buffer.from('nonce-1') } : { result: 'failure' };
              return data?.toString() === 'nonce-1+secret' ? { result: 'success' } : { result: 'failure' };
            },
          };
        },
      },
    },
  });
  t.after(() => broker.close());
  const challenges: string[] = [];
  const options = (secret: string) => ({
    protocolVersion: 5 as const,
    reconnect: false as const,
    properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('hello') },
    authenticate: ({ data }: { data: Buffer | undefined }) => {
      challenges.push(data?.toString() ?? '');
      return Buffer.from(`${data?.toString() ?? ''}+${secret}`);
    },
  });
  const client = await connect(broker.url, options('secret'));
  await client.end();
  assert.deepEqual(challenges, ['nonce-1']);
  await assert.rejects(connect(broker.url, options('wrong')), (e: unknown) => e instanceof ConnectionRefusedError && e.reasonCode !== undefined && e.reasonCode >= 0x80);
});

test('5.0: a PUBLISH with an unknown topic alias ends the connection with DISCONNECT 0x94', async (t) => {
  const got: Packet[] = [];
  const server = await fakeServer(5, (p, send) => {
    got.push(p);
    if (p.type === 'connect') {
      send({ type: 'connack', sessionPresent: false, reasonCode: 0 });
      setTimeout(() => send({ type: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } }), 20);
    }
  });
  t.after(() => server.close());
  const client = await connect(server.url, { protocolVersion: 5, reconnect: false, topicAliases: true, properties: { topicAliasMaximum: 5 } });
  t.after(() => client.end({ force: true }));
  const messages: string[] = [];
  client.on('message', (m) => messages.push(m.topic));
  const offline = await withTimeout(new Promise<Error | undefined>((resolve) => client.once('offline', resolve)), 3000, 'offline');
  assert.match(String(offline), /unknown topic alias/);
  assert.deepEqual(messages, []);
  await waitFor(() => got.some((p) => p.type === 'disconnect'), 2000, 'DISCONNECT');
  const disconnect = got.find((p) => p.type === 'disconnect');
  assert.equal(disconnect?.type === 'disconnect' ? disconnect.reasonCode : undefined, 0x94);
});
