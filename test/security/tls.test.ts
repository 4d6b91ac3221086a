// TLS and mutual TLS with certificates made by the test: Debian's mosquitto_pub and
// mosquitto_sub with --cafile --cert --key, MQTT.js, and clients that must be refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { runProcess, spawnProcess } from '../helpers/processes.js';
import { makePki, portOf, read, startCicada, tempDir, type Pki } from './support.js';

function tlsArgs(pki: Pki, cn: string | undefined): string[] {
  const args = ['-h', 'localhost', '--cafile', pki.ca];
  if (cn !== undefined) args.push('--cert', pki.client(cn).cert, '--key', pki.client(cn).key);
  return args;
}

/** mosquitto_sub waits for one message while mosquitto_pub publishes until it arrives. */
async function roundTrip(pki: Pki, port: number, cn: string | undefined, topic: string): Promise<string> {
  const sub = spawnProcess('mosquitto_sub', [...tlsArgs(pki, cn), '-p', String(port), '-t', topic, '-C', '1', '-W', '8', '-v']);
  for (let i = 0; i < 40 && sub.running; i++) {
    await runProcess('mosquitto_pub', [...tlsArgs(pki, cn), '-p', String(port), '-t', topic, '-m', 'over-tls'], 5000);
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await sub.exit(8000);
  assert.equal(result.code, 0, `mosquitto_sub failed: ${result.stderr}`);
  return result.stdout.trim();
}

test('mutual TLS: mosquitto_pub/mosquitto_sub with --cafile --cert --key; the certificate CN is the user name', async (t) => {
  const dir = tempDir(t);
  const pki = makePki(dir, ['alice', 'bob']);
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic readwrite alice/#\nuser bob\ntopic read public/#\n');
  const { broker, logs, url } = await startCicada(t, {
    listeners: [
      {
        port: 0,
        host: '127.0.0.1',
        tls: { cert: read(pki.serverCert), key: read(pki.serverKey), ca: read(pki.ca), requireCertificate: true, useIdentityAsUsername: true },
      },
    ],
    security: { aclFile: join(dir, 'acl') },
  });
  const port = portOf(url());
  assert.match(url(), /^mqtts:\/\//);
  assert.equal(await roundTrip(pki, port, 'alice', 'alice/inbox'), 'alice/inbox over-tls');
  // The ACL sees the CN: bob may not publish to alice's topics, and may not subscribe to them.
  const bobSub = await runProcess('mosquitto_sub', [...tlsArgs(pki, 'bob'), '-p', String(port), '-t', 'alice/#', '-C', '1', '-W', '3'], 8000);
  assert.match(bobSub.stderr, /denied/i, `bob's subscription to alice/# is denied (${bobSub.stdout}${bobSub.stderr})`);
  assert.ok(logs.some((l) => l.includes('subscribe not authorized') && l.includes('alice/#')), 'denied subscription is logged');
  assert.ok(logs.some((l) => l.includes('"username":"alice"') || l.includes('client connected')));
  assert.ok(broker.stats.clientsTotal >= 2);
});

test('mutual TLS refuses a client without a certificate and one signed by an unknown CA', async (t) => {
  const dir = tempDir(t);
  const pki = makePki(dir, ['alice']);
  const { broker, url, logs } = await startCicada(t, {
    listeners: [{ port: 0, host: '127.0.0.1', tls: { cert: read(pki.serverCert), key: read(pki.serverKey), ca: read(pki.ca), requireCertificate: true } }],
  });
  const port = portOf(url());
  const noCert = await runProcess('mosquitto_pub', [...tlsArgs(pki, undefined), '-p', String(port), '-t', 'x', '-m', 'no'], 8000);
  assert.notEqual(noCert.code, 0, 'a client without a certificate is refused');
  const rogue = await runProcess('mosquitto_pub', ['-h', 'localhost', '--cafile', pki.ca, '--cert', pki.rogue.cert, '--key', pki.rogue.key, '-p', String(port), '-t', 'x', '-m', 'no'], 8000);
  assert.notEqual(rogue.code, 0, 'a certificate from an unknown CA is refused');
  const ok = await runProcess('mosquitto_pub', [...tlsArgs(pki, 'alice'), '-p', String(port), '-t', 'x', '-m', 'yes'], 8000);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(logs.some((l) => l.includes('TLS handshake failed')), 'failed handshakes are logged');
  assert.ok(broker.stats.connectionsRefused >= 2, 'and counted');
});

test('server-only TLS with MQTT.js; use_subject_as_username gives the RFC 2253 subject to the ACL', async (t) => {
  const dir = tempDir(t);
  const pki = makePki(dir, ['carol']);
  writeFileSync(join(dir, 'acl'), 'user CN=carol,O=Cicada Test,C=GB\ntopic readwrite carol/#\n');
  const { url } = await startCicada(t, {
    listeners: [
      { port: 0, host: '127.0.0.1', tls: { cert: read(pki.serverCert), key: read(pki.serverKey), minVersion: 'TLSv1.3' } },
      {
        port: 0,
        host: '127.0.0.1',
        tls: { cert: read(pki.serverCert), key: read(pki.serverKey), ca: read(pki.ca), requireCertificate: true, useSubjectAsUsername: true },
      },
    ],
    security: { aclFile: join(dir, 'acl'), allowAnonymous: true },
  });
  const plain = await connectMqtt(url(0), { ca: read(pki.ca), servername: 'localhost' });
  await endMqtt(plain);
  const carol = await connectMqtt(url(1), { ca: read(pki.ca), cert: read(pki.client('carol').cert), key: read(pki.client('carol').key), servername: 'localhost' });
  t.after(() => endMqtt(carol));
  const granted = await carol.subscribeAsync('carol/x', { qos: 1 });
  assert.equal(granted[0]?.qos, 1);
  // 3.1.1 SUBACK 0x80, which MQTT.js turns into an error.
  await assert.rejects(carol.subscribeAsync('other/x', { qos: 1 }), /Subscribe error/);
});
