// Migration from Mosquitto (issue 13, item 2): Debian's Mosquitto 2.0 writes a real mosquitto.db
// (retained messages, persistent 3.1.1 and 5.0 sessions with subscriptions and queued QoS 1/2
// messages), `cicada import` reads it into Cicada's store, and a Cicada broker started on that
// store gives the clients their retained messages, their sessions (Session Present 1) and their
// queued messages. A configuration naming `persistence_file` imports it at the first start. The
// parser never crashes on a truncated or corrupted file (seeded mutations, seed printed).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, type Spawned, START_TIMEOUT_MS } from '../helpers/processes.js';
import { withTimeout } from '../helpers/wait.js';
import { startMosquitto } from '../client/support.js';
import { prng, replayNote, seedFor } from '../helpers/seed.js';
import { MosquittoDbError, parseMosquittoDb } from '../../src/storage/mosquitto-db.js';
import { importMosquittoDb } from '../../src/storage/mosquitto-import.js';
import { MemoryStorage } from '../../src/storage/memory.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

/** The mosquitto.db written by Debian's Mosquitto 2.0.11 in `before`. */
let mosquittoDb = '';

async function messages(client: mqtt.MqttClient, n: number, what: string): Promise<Array<{ topic: string; payload: string; packet: mqtt.IPublishPacket }>> {
  const got: Array<{ topic: string; payload: string; packet: mqtt.IPublishPacket }> = [];
  await withTimeout(
    new Promise<void>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        got.push({ topic, payload: payload.toString(), packet });
        if (got.length === n) resolve();
      });
    }),
    5000,
    `${what} (got ${JSON.stringify(got.map((m) => m.payload))})`,
  );
  return got;
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-mosquitto-db-'));
  chmodSync(dir, 0o777); // Mosquitto started as root drops to its own user, which writes the file here
  const mosquitto = await startMosquitto(dir, ['allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 0']);
  try {
    const url = `mqtt://127.0.0.1:${mosquitto.port}`;
    const pub5 = await mqtt.connectAsync(url, { protocolVersion: 5 });
    await pub5.publishAsync('ret/plain', 'hello', { qos: 1, retain: true });
    await pub5.publishAsync('ret/v5', 'with properties', { qos: 1, retain: true, properties: { contentType: 'text/plain', userProperties: { k: 'v' } } });
    const s311 = await mqtt.connectAsync(url, { clientId: 'm-sub311', clean: false, protocolVersion: 4 });
    await s311.subscribeAsync({ 'q/#': { qos: 1 }, 'x/+': { qos: 0 } });
    await s311.endAsync();
    const s5 = await mqtt.connectAsync(url, { clientId: 'm-sub5', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    await s5.subscribeAsync('v5/#', { qos: 2, nl: true, rap: true, properties: { subscriptionIdentifier: 7 } });
    await s5.endAsync();
    await pub5.publishAsync('q/1', 'm1', { qos: 1 });
    await pub5.publishAsync('q/2', 'm2', { qos: 1 });
    await pub5.publishAsync('v5/a', 'm3', { qos: 2 });
    await pub5.endAsync();
  } finally {
    await mosquitto.stop(); // SIGTERM: Mosquitto writes mosquitto.db as it exits
  }
  mosquittoDb = join(dir, 'mosquitto.db');
  assert.ok(existsSync(mosquittoDb), `Mosquitto wrote ${mosquittoDb}:\n${mosquitto.output()}`);
});

function cicadaConf(dir: string, port: number, extra = ''): string {
  const conf = join(dir, 'cicada.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}\nsys_interval 0\n${extra}`);
  return conf;
}

async function startCicada(conf: string, port: number): Promise<Spawned> {
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf]);
  await broker.waitForOutput(`127.0.0.1:${port}`, START_TIMEOUT_MS);
  return broker;
}

/** What a Mosquitto user expects after switching: checked against a Cicada on the imported store. */
async function checkMigratedState(port: number): Promise<void> {
  const clients: mqtt.MqttClient[] = [];
  try {
    await checkClients(`mqtt://127.0.0.1:${port}`, clients);
  } finally {
    for (const client of clients) client.end(true); // also after a failure: nothing keeps the test alive
  }
}

async function checkClients(url: string, clients: mqtt.MqttClient[]): Promise<void> {
  // The 3.1.1 session: present, with its two queued QoS 1 messages, in order, and its subscriptions.
  const s311 = mqtt.connect(url, { clientId: 'm-sub311', clean: false, protocolVersion: 4 });
  clients.push(s311);
  const queued311 = messages(s311, 2, 'queued messages of m-sub311');
  const connack311 = await withTimeout(new Promise<mqtt.IConnackPacket>((resolve) => s311.once('connect', resolve)), 5000, 'm-sub311 CONNACK');
  assert.equal(connack311.sessionPresent, true, 'm-sub311: Session Present 1');
  assert.deepEqual((await queued311).map((m) => [m.topic, m.payload, m.packet.qos]), [['q/1', 'm1', 1], ['q/2', 'm2', 1]]);
  // The 5.0 session: present, its QoS 2 message with the subscription identifier.
  const s5 = mqtt.connect(url, { clientId: 'm-sub5', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
  clients.push(s5);
  const queued5 = messages(s5, 1, 'queued message of m-sub5');
  const connack5 = await withTimeout(new Promise<mqtt.IConnackPacket>((resolve) => s5.once('connect', resolve)), 5000, 'm-sub5 CONNACK');
  assert.equal(connack5.sessionPresent, true, 'm-sub5: Session Present 1');
  const [m3] = await queued5;
  assert.deepEqual([m3?.topic, m3?.payload, m3?.packet.qos], ['v5/a', 'm3', 2]);
  assert.deepEqual(m3?.packet.properties?.subscriptionIdentifier, 7);
  // The imported subscriptions route new messages: q/# for m-sub311; No Local kept for m-sub5.
  const next311 = messages(s311, 1, 'a new message for m-sub311');
  const echo = messages(s5, 1, 'a message from another client for m-sub5');
  await s5.publishAsync('q/3', 'after the move', { qos: 1 });
  await s5.publishAsync('v5/own', 'not back to me (No Local)', { qos: 1 });
  assert.equal((await next311)[0]?.payload, 'after the move');
  // Retained messages, with their 5.0 properties.
  const reader = await mqtt.connectAsync(url, { protocolVersion: 5 });
  clients.push(reader);
  const retained = messages(reader, 2, 'retained messages');
  await reader.subscribeAsync('ret/#', { qos: 1 });
  const byTopic = new Map((await retained).map((m) => [m.topic, m]));
  assert.equal(byTopic.get('ret/plain')?.payload, 'hello');
  assert.equal(byTopic.get('ret/v5')?.payload, 'with properties');
  assert.equal(byTopic.get('ret/v5')?.packet.retain, true);
  assert.equal(byTopic.get('ret/v5')?.packet.properties?.contentType, 'text/plain');
  assert.deepEqual({ ...byTopic.get('ret/v5')?.packet.properties?.userProperties }, { k: 'v' });
  // The first message m-sub5 gets is another client's: its own publication was not echoed.
  await reader.publishAsync('v5/other', 'from elsewhere', { qos: 1 });
  assert.equal((await echo)[0]?.payload, 'from elsewhere');
  await Promise.all([s311.endAsync(), s5.endAsync(), reader.endAsync()]);
}

test('cicada import: a mosquitto.db written by Debian\'s Mosquitto 2.0 gives Cicada its retained messages (with 5.0 properties), persistent sessions (Session Present 1), subscriptions and queued QoS 1/2 messages', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-import-'));
  const port = await freePort();
  const conf = cicadaConf(dir, port);
  const result = await runProcess(process.execPath, [BIN, 'import', '-c', conf, mosquittoDb], 10_000);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout.trim(),
    `imported Mosquitto persistence file ${mosquittoDb}: 2 retained messages, 2 sessions, 3 subscriptions, 3 queued messages into ${join(dir, 'cicada.db')}`,
  );
  // A second import would merge into a store in use: refused, one line, nothing changed.
  const again = await runProcess(process.execPath, [BIN, 'import', '-c', conf, mosquittoDb], 10_000);
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim(), `cicada: ${join(dir, 'cicada.db')} already holds sessions or retained messages: import into an empty store (move the file away first)`);
  const broker = await startCicada(conf, port);
  t.after(() => broker.kill('SIGKILL'));
  // While the broker runs, the data directory is its own.
  const busy = await runProcess(process.execPath, [BIN, 'import', '-c', conf, mosquittoDb], 10_000);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /^cicada: data directory .* is in use by another Cicada process \(pid \d+,/);
  await checkMigratedState(port);
});

test('first start: a configuration naming persistence_file imports that Mosquitto file into the new store and logs one line; the next start does not import again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-first-start-'));
  copyFileSync(mosquittoDb, join(dir, 'old.db'));
  const port = await freePort();
  const conf = cicadaConf(dir, port, 'persistence_file old.db\n');
  let broker = await startCicada(conf, port);
  t.after(() => broker.kill('SIGKILL'));
  const lines = broker.stdout.split('\n').filter((l) => l.includes('imported Mosquitto persistence file'));
  assert.equal(lines.length, 1, broker.stdout);
  assert.match(lines[0]!, /2 retained messages, 2 sessions, 3 subscriptions, 3 queued messages \(first start; the file is left as it is\)/);
  await checkMigratedState(port);
  broker.kill('SIGTERM');
  await broker.exit(5000);
  broker = await startCicada(conf, port);
  assert.doesNotMatch(broker.stdout, /imported Mosquitto/);
  assert.ok(existsSync(join(dir, 'old.db')), 'the Mosquitto file is left in place');
});

test('first start: a corrupt Mosquitto file named by persistence_file stops the broker with one line, and creates no store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-first-start-'));
  writeFileSync(join(dir, 'mosquitto.db'), readFileSync(mosquittoDb).subarray(0, 100));
  const port = await freePort();
  const result = await runProcess(process.execPath, [BIN, 'broker', '-c', cicadaConf(dir, port, 'persistence_file mosquitto.db\n')], 10_000);
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /^cicada: cannot import Mosquitto persistence file .*mosquitto\.db: chunk type \d+ at offset \d+: .*truncated/);
  assert.ok(!existsSync(join(dir, 'cicada.db')));
});

test('cicada import: a missing, foreign or truncated file is one line and exit 1; no file or a bad flag is one line and exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-import-'));
  const conf = cicadaConf(dir, 1);
  const missing = await runProcess(process.execPath, [BIN, 'import', '-c', conf, join(dir, 'nope.db')], 10_000);
  assert.deepEqual([missing.code, missing.stderr.trim()], [1, `cicada: cannot read Mosquitto persistence file ${join(dir, 'nope.db')} (ENOENT)`]);
  const foreign = await runProcess(process.execPath, [BIN, 'import', '-c', conf, conf], 10_000);
  assert.deepEqual([foreign.code, foreign.stderr.trim()], [1, `cicada: cannot import Mosquitto persistence file ${conf}: not a Mosquitto persistence file (no "mosquitto db" magic at the start)`]);
  const truncated = join(dir, 'truncated.db');
  writeFileSync(truncated, readFileSync(mosquittoDb).subarray(0, 60));
  const cut = await runProcess(process.execPath, [BIN, 'import', '-c', conf, truncated], 10_000);
  assert.equal(cut.code, 1);
  assert.equal(cut.stderr.trim().split('\n').length, 1);
  assert.match(cut.stderr, /truncated/);
  assert.ok(!existsSync(join(dir, 'cicada.db')), 'a bad file changes nothing');
  const none = await runProcess(process.execPath, [BIN, 'import'], 10_000);
  assert.deepEqual([none.code, none.stderr], [2, "Error: the Mosquitto persistence file to import is missing\n\nUse 'cicada import --help' to see usage.\n"]);
  const bogus = await runProcess(process.execPath, [BIN, 'import', '--bogus', 'x.db'], 10_000);
  assert.deepEqual([bogus.code, bogus.stderr], [2, "Error: Unknown option '--bogus'.\n\nUse 'cicada import --help' to see usage.\n"]);
});

test('the parser is bounded: every truncation and 3000 seeded corruptions of a real file either parse (and import) or fail with a MosquittoDbError, never anything else', (t) => {
  const original = readFileSync(mosquittoDb);
  const seed = seedFor('mosquitto-db corruptions');
  t.diagnostic(replayNote(seed));
  const check = (bytes: Buffer, what: string): void => {
    try {
      const db = parseMosquittoDb(bytes);
      importMosquittoDb(db, new MemoryStorage());
    } catch (error) {
      if (!(error instanceof MosquittoDbError)) assert.fail(`${what} (${replayNote(seed)}): ${(error as Error).stack ?? String(error)}`);
      assert.equal((error as Error).message.includes('\n'), false, `one line (${what}, ${replayNote(seed)})`);
    }
  };
  for (let n = 0; n < original.length; n++) check(original.subarray(0, n), `truncated to ${n} bytes`);
  const rnd = prng(seed);
  for (let i = 0; i < 3000; i++) {
    const bytes = Buffer.from(original);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) {
      const at = 19 + Math.floor(rnd() * (bytes.length - 19)); // past magic, CRC and version
      const r = rnd();
      bytes[at] = r < 0.3 ? 0xff : r < 0.5 ? 0 : Math.floor(rnd() * 256);
    }
    check(bytes, `mutation ${i}`);
  }
});
