// The dashboard driven in Debian's headless Chromium (playwright-core): log in with the password
// the broker printed, see an MQTT.js client appear, open its detail, kick it; publish from the
// built-in WebSocket client and see the message arrive in an MQTT.js client (and the other way);
// browse the topic tree, read a payload in every format, chart a JSON field, delete retained
// messages; attacker-controlled topics, payloads and client ids stay text. Screenshots go to
// test-artifacts/ (ignored by git).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createBroker, type Broker } from '../../src/index.js';
import type { Logger } from '../../src/broker/logger.js';
import { connectMqtt, endMqtt, type TestClient } from '../helpers/mqttjs.js';
import { waitFor } from '../helpers/wait.js';

const ARTIFACTS = 'test-artifacts';
const WAIT = 15_000;

/** A logger that keeps every line, as the broker would print it. */
function recordingLogger(lines: string[]): Logger {
  const at = (level: string) => (objOrMsg: object | string, msg?: string): void => {
    lines.push(`${level} ${typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '')}`);
  };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger };
  return logger;
}

let broker: Broker;
let browser: Browser;
let page: Page;
let dataDir: string;
let mqttUrl: string;
const logLines: string[] = [];
const pageErrors: string[] = [];
const clients: TestClient[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
}

/** A browser test: on failure, a screenshot of the page as it was (test-artifacts/dashboard-failed-NAME.png). */
function browserTest(name: string, body: () => Promise<void>): void {
  void test(`dashboard: ${name}`, async () => {
    try {
      await body();
    } catch (error) {
      await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => undefined);
      throw error;
    }
  });
}

async function mqttClient(clientId: string, version: 4 | 5 = 4): Promise<TestClient> {
  const client = await connectMqtt(mqttUrl, { clientId, protocolVersion: version });
  clients.push(client);
  return client;
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'cicada-dashboard-'));
  writeFileSync(join(dataDir, 'passwd'), '');
  writeFileSync(join(dataDir, 'acl'), 'topic readwrite #\n');
  broker = createBroker(
    {
      persistence: false,
      persistenceLocation: dataDir,
      security: { allowAnonymous: true, passwordFile: join(dataDir, 'passwd'), aclFile: join(dataDir, 'acl') },
      sysInterval: 0,
      listeners: [
        { port: 0, host: '127.0.0.1' },
        { port: 0, host: '127.0.0.1', protocol: 'websockets', name: 'ws' },
      ],
      http: { port: 0, host: '127.0.0.1' },
    },
    recordingLogger(logLines),
  );
  await broker.listen();
  mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(WAIT);
  // The page asks before deleting (confirm()): the tests say yes.
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // An API answer of 4xx is logged by Chromium as a failed resource: expected (wrong password), not a script error.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${message.text()}`);
  });
});

after(async () => {
  for (const client of clients) await endMqtt(client, true);
  await browser?.close();
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

browserTest('log in with the password printed in the log', async () => {
  const line = logLines.find((l) => l.includes('dashboard user admin created with password'));
  assert.ok(line, `the password is printed once: ${logLines.join('\n')}`);
  const password = /with password (\S+)/.exec(line)![1]!;
  await page.goto(broker.httpUrl!);
  await page.locator('form.login').waitFor();
  await page.fill('input[name=password]', 'wrong password');
  await page.click('form.login button[type=submit]');
  await page.getByRole('alert').filter({ hasText: 'Login failed' }).waitFor();
  await page.fill('input[name=password]', password);
  await page.click('form.login button[type=submit]');
  await page.locator('.card[data-stat=clientsConnected]').waitFor();
  await page.locator('#who', { hasText: 'admin (administrator)' }).waitFor();
  await shot('overview');
});

browserTest('an MQTT.js client appears in the clients table; its detail; kick it (5.0: DISCONNECT 0x98)', async () => {
  const client = await mqttClient('mqttjs-kick-me', 5);
  await new Promise<void>((resolve, reject) => client.subscribe('kick/me/+', { qos: 1 }, (error) => (error ? reject(error) : resolve())));
  const disconnected = new Promise<number | undefined>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)));
  await page.goto(`${broker.httpUrl}/#/clients`);
  const link = page.locator('a.client-link', { hasText: 'mqttjs-kick-me' });
  await link.waitFor();
  await page.fill('input[name=clientid]', 'mqttjs-kick');
  await page.locator('tbody tr').filter({ hasText: 'mqttjs-kick-me' }).waitFor();
  await shot('clients');
  await link.click();
  await page.locator('dl.facts dd', { hasText: 'MQTT 5.0' }).waitFor();
  await page.locator('td', { hasText: 'kick/me/+' }).waitFor();
  await shot('client-detail');
  await page.goto(`${broker.httpUrl}/#/subscriptions`);
  await page.fill('input[name=clientId]', 'mqttjs-kick-me');
  await page.locator('tbody tr', { hasText: 'kick/me/+' }).waitFor();
  await shot('subscriptions');
  await page.goBack();
  await page.click('button.kick');
  assert.equal(await disconnected, 0x98, 'DISCONNECT with reason Administrative action');
  await page.locator('.status', { hasText: 'Kicked.' }).waitFor();
  await page.locator('p.gone', { hasText: 'No such client' }).waitFor(); // clean start, expiry 0: its session ended too
});

browserTest('the built-in WebSocket client publishes to an MQTT.js client and receives from one', async () => {
  const listener = await mqttClient('mqttjs-listener');
  await new Promise<void>((resolve, reject) => listener.subscribe(['dash/out', 'dash/will'], { qos: 1 }, (error) => (error ? reject(error) : resolve())));
  await page.goto(`${broker.httpUrl}/#/mqtt`);
  const url = page.locator('#mqtt-url');
  await url.waitFor();
  await waitFor(async () => (await url.inputValue()).startsWith('ws://'), WAIT, 'the WebSocket URL is filled in from the listeners');
  await page.fill('#mqtt-clientId', 'dashboard-client');
  await page.selectOption('#mqtt-version', '5');
  await page.fill('#mqtt-willTopic', 'dash/will');
  await page.fill('#mqtt-willPayload', 'the dashboard client is gone');
  await page.click('#mqtt-connect');
  await page.locator('#mqtt-status[data-state=connected]').waitFor();
  await page.fill('#mqtt-filter', 'dash/in/#');
  await page.click('#mqtt-subscribe');
  await page.locator('ul.subscriptions li', { hasText: 'dash/in/#' }).waitFor();
  await page.fill('#mqtt-topic', 'dash/out');
  await page.fill('#mqtt-payload', 'hello from the dashboard');
  await page.selectOption('#mqtt-qos', '1');
  await page.fill('#mqtt-userProperties', 'origin=dashboard');
  await page.click('#mqtt-publish');
  const [got] = await listener.inbox.next(1, WAIT);
  assert.deepEqual([got!.topic, got!.payload, got!.qos], ['dash/out', 'hello from the dashboard', 1]);
  listener.publish('dash/in/x', 'hello from MQTT.js', { qos: 0 });
  await page.locator('#mqtt-history tr.in', { hasText: 'hello from MQTT.js' }).waitFor();
  await page.locator('#mqtt-history tr.out', { hasText: 'hello from the dashboard' }).waitFor();
  await shot('mqtt-client');
  // Kicked from the Clients page, the built-in client's will goes out (an unclean close).
  await page.goto(`${broker.httpUrl}/#/clients/dashboard-client`);
  await page.locator('dl.facts dd', { hasText: 'dash/will (QoS 0' }).waitFor();
  await page.click('button.kick');
  const [will] = await listener.inbox.next(1, WAIT);
  assert.deepEqual([will!.topic, will!.payload], ['dash/will', 'the dashboard client is gone']);
  await page.goto(`${broker.httpUrl}/#/mqtt`);
  await page.locator('#mqtt-status[data-state=disconnected]').waitFor();
  assert.equal(await page.locator('#mqtt-clientId').inputValue(), 'dashboard-client', 'the form keeps the last connection settings');
  await page.click('#mqtt-connect');
  await page.locator('#mqtt-status[data-state=connected]').waitFor();
});

browserTest('topic tree, payload formats, chart of a JSON field, delete retained (one and a subtree)', async () => {
  const sensor = await mqttClient('mqttjs-sensor');
  const topic = 'plant/line1/temp';
  await page.goto(`${broker.httpUrl}/#/topics`);
  for (let i = 1; i <= 3; i++) {
    // Each value once the page showed the previous one: the history keeps at most one sample per 500 ms.
    await sensor.publishAsync(topic, JSON.stringify({ temp: 20 + i * 1.5, unit: 'C', nested: { hum: 40 + i } }), { qos: 1, retain: true });
    if (i === 1) {
      await page.locator('.tree a.name', { hasText: 'plant' }).click();
      await page.locator('.tree a.name', { hasText: 'line1' }).click();
      await page.locator('.tree a.name', { hasText: 'temp' }).click();
    }
    await page.locator('.facts-line', { hasText: `${i} message${i === 1 ? '' : 's'} ·` }).waitFor();
  }
  await page.locator('pre.payload.text', { hasText: '"temp":24.5' }).waitFor();
  await page.click('button[data-format=json]');
  await page.locator('.json .json-key', { hasText: 'nested' }).waitFor();
  await page.click('button[data-format=hex]');
  await page.locator('pre.payload.hex', { hasText: '000000  7b 22 74 65 6d 70' }).waitFor();
  await page.click('button[data-format=base64]');
  await page.locator('pre.payload.b64', { hasText: 'eyJ0ZW1wIjoyNC41' }).waitFor();
  await page.selectOption('select[name=field]', 'temp');
  await waitFor(async () => (await page.locator('.field-chart path.line').getAttribute('d'))?.split('L').length === 3, WAIT, 'a line through the three temp values');
  await shot('topic-tree-chart');
  await page.selectOption('select[name=field]', 'nested.hum');
  await page.locator('.field-chart figcaption', { hasText: 'nested.hum over time' }).waitFor();

  // Delete this retained message, then a subtree with two more.
  await page.click('button[data-action=delete-retained]');
  await page.locator('.status', { hasText: 'Retained message deleted.' }).waitFor();
  await waitFor(async () => (await retainedCount('plant')) === 0, WAIT, 'plant/line1/temp no longer retained');
  await sensor.publishAsync('plant/line2/a', '1', { qos: 1, retain: true });
  await sensor.publishAsync('plant/line2/b', '2', { qos: 1, retain: true });
  await sensor.publishAsync('other/kept', '3', { qos: 1, retain: true });
  await page.locator('.tree a.name', { hasText: 'line2' }).click();
  await page.locator('.tree a.name', { hasText: /^a$/ }).click();
  await page.locator('.facts-line', { hasText: 'retained' }).waitFor();
  assert.equal(await retainedCount('plant'), 2);
  await page.selectOption('select[name=prefix]', 'plant/line2');
  await page.click('button[data-action=delete-retained-tree]');
  await page.locator('.status', { hasText: 'Retained messages deleted.' }).waitFor();
  assert.equal(await retainedCount('plant'), 0, 'plant/line2/a and plant/line2/b are gone');
  assert.equal(await retainedCount('other'), 1, 'other topics keep theirs');
});

/** Retained messages under a prefix, through the API with the page's own session. */
async function retainedCount(prefix: string): Promise<number> {
  return page.evaluate(async (p) => {
    const storage = (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage;
    const response = await fetch(`/api/v1/retained?prefix=${encodeURIComponent(p)}`, { headers: { authorization: `Bearer ${storage.getItem('cicada.token')}` } });
    return ((await response.json()) as { meta: { count: number } }).meta.count;
  }, prefix);
}

browserTest('topics, payloads and client ids with <img onerror> stay text (no script runs)', async () => {
  const evil = '<img src=x onerror="window.__xss=1">';
  const client = await mqttClient(`evil-${evil}`);
  await client.publishAsync(`xss/${evil}`, `<img src=x onerror="window.__xss=2"><script>window.__xss=3</script>`, { qos: 1, retain: true });
  await page.goto(`${broker.httpUrl}/#/topics`);
  await page.locator('.tree a.name', { hasText: 'xss' }).click();
  await page.locator('.tree a.name', { hasText: evil }).click();
  await page.click('button[data-format=text]');
  await page.locator('pre.payload.text', { hasText: '<img src=x onerror="window.__xss=2">' }).waitFor();
  await page.click('button[data-format=json]');
  await page.locator('.topic-detail .error', { hasText: 'Not JSON.' }).waitFor();
  await page.goto(`${broker.httpUrl}/#/clients`);
  await page.locator('a.client-link', { hasText: evil }).waitFor();
  await page.goto(`${broker.httpUrl}/#/mqtt`);
  await page.fill('#mqtt-filter', 'xss/#');
  await page.click('#mqtt-subscribe');
  await page.locator('#mqtt-history td.topic', { hasText: evil }).first().waitFor();
  await shot('xss');
  assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined, 'no injected script ran');
  assert.equal(await page.locator('main img').count(), 0, 'no <img> element was created from data');
});

browserTest('users and ACL: a password_file user added in the page connects at once, removed it is disconnected; the ACL file is checked, then saved', async () => {
  await page.goto(`${broker.httpUrl}/#/users`);
  await page.fill('input[name=mqttUser]', 'sensor-user');
  await page.fill('input[name=mqttPassword]', 'sensor-secret');
  await page.click('form:has(input[name=mqttUser]) button[type=submit]');
  await page.locator('table.mqtt-users td', { hasText: 'sensor-user' }).waitFor();
  const sensor = await connectMqtt(mqttUrl, { clientId: 'by-password', username: 'sensor-user', password: 'sensor-secret' });
  clients.push(sensor);
  const closed = new Promise<void>((resolve) => sensor.once('close', () => resolve()));
  await page.locator('table.mqtt-users tr', { hasText: 'sensor-user' }).locator('button').click();
  await closed; // removed from the password file: disconnected at once, as on SIGHUP
  await page.locator('table.mqtt-users td', { hasText: 'sensor-user' }).waitFor({ state: 'detached' });

  const acl = page.locator('textarea[name=acl]');
  await acl.fill('topic readwrite #\nbogus line here\n');
  await page.click('form:has(textarea[name=acl]) button[type=submit]');
  await page.locator('.status .error', { hasText: 'Failed' }).waitFor();
  assert.equal(readFileSync(join(dataDir, 'acl'), 'utf8'), 'topic readwrite #\n', 'a bad ACL is not written');
  await acl.fill('topic readwrite #\nuser sensor-user\ntopic read sensors/#\n');
  await page.click('form:has(textarea[name=acl]) button[type=submit]');
  await page.locator('.status', { hasText: 'ACL file saved and applied.' }).waitFor();
  assert.equal(readFileSync(join(dataDir, 'acl'), 'utf8'), 'topic readwrite #\nuser sensor-user\ntopic read sensors/#\n');

  await page.fill('input[name=dashUser]', 'watcher');
  await page.fill('input[name=dashPassword]', 'watcher-password');
  await page.selectOption('select[name=role]', 'viewer');
  await page.click('form:has(input[name=dashUser]) button[type=submit]');
  await page.locator('section.panel tr', { hasText: 'watcher' }).filter({ hasText: 'viewer' }).waitFor();
  await shot('users-acl');
});

void test('dashboard: no script error and no CSP violation in the page', () => {
  assert.deepEqual(pageErrors, []);
});
