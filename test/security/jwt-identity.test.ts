// JWT identity and lifetime: the user name is the token's claim (jwt_username_claim, default
// sub), tokens without exp are refused unless jwt_require_exp false, and a connection ends when
// its token expires (5.0: DISCONNECT 0x87) unless the client re-authenticates with a fresh token
// (Authentication Method JWT, AUTH 0x19). Mosquitto has no JWT: Cicada only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, type JWTPayload } from 'jose';
import type { BrokerOptions } from '../../src/index.js';
import { parseConfig } from '../../src/config/config-file.js';
import { cicadaOnly } from '../helpers/broker.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { connect, packet, pingreq, T } from '../helpers/packets.js';
import { rawClient, type RawClient } from '../helpers/raw.js';
import { connect5, expectDisconnect, parseAck5, parseConnack5, props, publish5, readType } from '../helpers/v5.js';
import { refusedCode, startCicada, tempDir, type SecureBroker } from './support.js';

const SECRET = 'a-long-shared-secret-for-hs256-tokens';
const AUTH = 15;
const AUTH_METHOD = 0x15;
const AUTH_DATA = 0x16;
const options = { skip: cicadaOnly('JWT').skip, timeout: 20_000 };

/** An HS256 token with these claims; `exp` in seconds from now (null: no exp). */
function token(claims: JWTPayload, expiresIn: number | null = 60): Promise<string> {
  const exp = expiresIn === null ? {} : { exp: Math.floor(Date.now() / 1000) + expiresIn };
  return new SignJWT({ ...claims, ...exp }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
}

async function start(t: Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void }, jwt: BrokerOptions['security'] = {}): Promise<SecureBroker> {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'acl'), 'user dev1\ntopic write dev1/#\nuser admin\ntopic write #\n');
  return startCicada(t, { listeners: [{ port: 0, host: '127.0.0.1' }], security: { jwt: { secret: SECRET, ...jwt?.jwt }, aclFile: join(dir, 'acl') } });
}

/** AUTH (section 3.15) with Authentication Method JWT and the token as Authentication Data. */
function auth(reason: number, jwt: string): Buffer {
  return packet(AUTH, 0, Buffer.from([reason]), props([[AUTH_METHOD, 'JWT'], [AUTH_DATA, Buffer.from(jwt)]]));
}

test('JWT: the user name comes from the sub claim (the ACL file sees it); no claim, or a CONNECT user name other than it, is refused', options, async (t) => {
  const { url, broker } = await start(t);
  // 5.0 allows a password without a user name: the token alone says who it is.
  const dev1 = await rawClient(broker.port);
  t.after(() => dev1.close());
  dev1.send(connect5({ clientId: 'no-user-name', password: await token({ sub: 'dev1' }) }));
  assert.equal(parseConnack5(await dev1.readPacket()).reason, 0);
  const pubackOf = async (topic: string, packetId: number): Promise<number | undefined> => {
    dev1.send(publish5({ topic, payload: 'x', qos: 1, id: packetId }));
    return parseAck5(await readType(dev1, T.PUBACK)).reasons[0];
  };
  assert.equal(await pubackOf('dev1/t', 1), 0, 'dev1 writes dev1/#');
  assert.equal(await pubackOf('admin/t', 2), 0x87, 'and nothing else');
  // A valid token without the claim named no one: it may not claim admin's rights.
  const anonymousToken = await token({ name: 'x' });
  assert.equal(await refusedCode(url(), { username: 'admin', password: anonymousToken }), 4);
  assert.equal(await refusedCode(url(), { username: 'admin', password: anonymousToken, protocolVersion: 5 }), 0x86);
  assert.equal(await refusedCode(url(), { username: 'admin', password: await token({ sub: 'dev1' }) }), 4);
});

test('JWT: jwt_username_claim names the claim; tokens without exp are refused unless jwt_require_exp false', options, async (t) => {
  const parsed = parseConfig(`jwt_secret ${SECRET}\njwt_username_claim client_name\njwt_require_exp false\n`, '/etc/cicada/j.conf');
  assert.deepEqual(parsed.security?.jwt, { secret: SECRET, usernameClaim: 'client_name', requireExp: false });
  const strict = await start(t, { jwt: { usernameClaim: 'client_name' } });
  const dev1 = { username: 'dev1' };
  assert.equal(await refusedCode(strict.url(), { ...dev1, password: await token({ client_name: 'dev1' }, null) }), 4, 'no exp');
  assert.equal(await refusedCode(strict.url(), { ...dev1, password: await token({ sub: 'dev1' }) }), 4, 'sub is not the claim');
  await endMqtt(await connectMqtt(strict.url(), { ...dev1, password: await token({ client_name: 'dev1' }) }));
  const lax = await start(t, { jwt: { requireExp: false } });
  await endMqtt(await connectMqtt(lax.url(), { ...dev1, password: await token({ sub: 'dev1' }, null) }));
  assert.ok(strict.logs.some((l) => l.includes('JWT refused') && l.includes('token has no exp claim')));
});

test('JWT: the connection ends when its token expires: 5.0 DISCONNECT 0x87, 3.1.1 closed', options, async (t) => {
  const { broker, logs } = await start(t);
  const v5 = await rawClient(broker.port);
  v5.send(connect5({ clientId: 'expiring-5', password: await token({ sub: 'dev1' }, 2) }));
  assert.equal(parseConnack5(await v5.readPacket()).reason, 0);
  const v4 = await rawClient(broker.port);
  v4.send(connect({ clientId: 'expiring-4', username: 'dev1', password: await token({ sub: 'dev1' }, 2) }));
  assert.equal((await readType(v4, T.CONNACK)).body[1], 0);
  await expectDisconnect(v5, 0x87, 4000);
  await v4.expectClose(2000);
  assert.ok(logs.some((l) => l.includes('credentials expired')));
});

async function connectWithMethod(broker: SecureBroker['broker'], jwt: string): Promise<RawClient> {
  const c = await rawClient(broker.port);
  c.send(connect5({ clientId: 'reauth-jwt', props: [[AUTH_METHOD, 'JWT'], [AUTH_DATA, Buffer.from(jwt)]] }));
  assert.equal(parseConnack5(await c.readPacket()).reason, 0);
  return c;
}

test('JWT: re-authentication (AUTH 0x19, method JWT) with a fresh token keeps the connection; a token for someone else ends it (0x87)', options, async (t) => {
  const { broker } = await start(t);
  const c = await connectWithMethod(broker, await token({ sub: 'dev1' }, 2));
  c.send(auth(0x19, await token({ sub: 'dev1' }, 60)));
  const answer = await readType(c, AUTH);
  assert.equal(answer.body[0], 0x00, 're-authenticated');
  // Past the first token's exp (at most 2 s), the connection is still served.
  await c.expectSilence(3000); // time is the behaviour: the first token's exp passes
  c.send(pingreq());
  await readType(c, T.PINGRESP);
  c.send(auth(0x19, await token({ sub: 'admin' }, 60)));
  await expectDisconnect(c, 0x87);
  const other = await connectWithMethod(broker, await token({ sub: 'dev1' }, 60));
  other.send(auth(0x19, await token({ sub: 'dev1' }, null)));
  await expectDisconnect(other, 0x87);
});

test('an authenticate hook may answer { username, expiresAt }: the user name replaces the CONNECT one, the connection ends at expiresAt', options, async (t) => {
  const seen: Array<string | undefined> = [];
  const { broker } = await startCicada(t, {
    listeners: [{ port: 0, host: '127.0.0.1' }],
    authenticate: () => ({ username: 'granted', expiresAt: Date.now() + 600 }),
    authorizePublish: (client) => {
      seen.push(client.username);
      return true;
    },
  });
  const c = await rawClient(broker.port);
  c.send(connect5({ clientId: 'granted', username: 'asked' }));
  assert.equal(parseConnack5(await c.readPacket()).reason, 0);
  c.send(publish5({ topic: 'g/t', payload: 'x', qos: 1, id: 1 }));
  await readType(c, T.PUBACK);
  assert.deepEqual(seen, ['granted']);
  await expectDisconnect(c, 0x87, 3000);
});
