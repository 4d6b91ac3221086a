// `cicada pub` / `cicada sub` / `passwd` / `bench` beside mosquitto_pub and mosquitto_sub as a
// Mosquitto user meets them (issue 13, items 3-6): mistakes found before connecting, in one line;
// --help and --version everywhere; exit codes of TLS failures; refusals worded as Mosquitto's
// tools word them; the flags users type; -F as mosquitto_sub reads it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runProcess, spawnProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import type { ListenerOptions } from '../../src/config/schema.js';
import { makeCerts, runCicada, cicada, startMosquitto, tempDir } from '../client/support.js';

type Ctx = { after(fn: () => unknown): void };

/** A Cicada broker in this process with the given listeners; counts SUBSCRIBEs and connections. */
async function cicadaBroker(t: Ctx, listeners?: ListenerOptions[]) {
  const { createBroker } = await import('../../src/index.js');
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, ...(listeners ? { listeners } : {}) });
  let subscribes = 0;
  let connects = 0;
  broker.on('subscribed', () => subscribes++);
  broker.on('clientConnected', () => connects++);
  await broker.listen();
  t.after(() => broker.close());
  return { broker, urls: broker.urls, port: broker.port, subscribes: () => subscribes, connects: () => connects };
}

/** mosquitto_pub/sub's stderr with the program name as ours. */
const asOurs = (tool: 'pub' | 'sub', text: string): string => text.replaceAll(`mosquitto_${tool}`, `cicada ${tool}`);

describe('usage errors: one line, then where the usage is; nothing connects', { concurrency: 4 }, () => {
  const cases: Array<['pub' | 'sub', string[]]> = [
    ['pub', ['-q', '3']],
    ['pub', ['-z']],
    ['pub', ['-V', 'mqttv5', '-q', '7', '-t', 't', '-m', 'x']],
    ['pub', ['-t', 'a/#', '-m', 'x']],
    ['pub', ['-t', 't', '-m', 'x', '-c']],
    ['pub', ['-t', 't', '-m', 'x', '-p', '70000']],
    ['sub', ['-t', 't', '-q', '3']],
    ['sub', ['-t', 't', '-F', '%Z']],
    ['sub', ['-t', 't', '-F', '%.3Z']],
    ['sub', ['-t', 't', '-F', 'abc%']],
    ['sub', ['-t', 't', '-F', 'x@']],
    ['sub', ['-t', 't', '-F', '\\q']],
  ];
  for (const [tool, args] of cases) {
    test(`cicada ${tool} ${args.join(' ')} prints what mosquitto_${tool} prints, exit 1, no connection`, async (t) => {
      const b = await cicadaBroker(t);
      const withPort = ['-h', '127.0.0.1', '-p', String(b.port), ...args];
      const theirs = await runProcess(`mosquitto_${tool}`, withPort, 10_000);
      const ours = await runCicada([tool, ...withPort]);
      assert.equal(ours.code, 1);
      assert.equal(ours.code, theirs.code);
      assert.equal(ours.stderr, asOurs(tool, theirs.stderr));
      assert.match(ours.stderr, /^Error: [^\n]+\n\nUse 'cicada (pub|sub) --help' to see usage\.\n$/);
      assert.equal(b.connects(), 0, 'the mistake was found before connecting');
    });
  }

  test('passwd, bench and broker: the same shape', async () => {
    for (const [args, code, command] of [[['passwd', '-z', 'f', 'u'], 1, 'cicada passwd'], [['bench', 'conn', '-z'], 1, 'cicada bench'], [['broker', '--bogus'], 2, 'cicada broker'], [['frobnicate'], 2, 'cicada']] as const) {
      const r = await runCicada([...args]);
      assert.equal(r.code, code, args.join(' '));
      assert.match(r.stderr, new RegExp(`^Error: [^\\n]+\\n\\nUse '${command} --help' to see usage\\.\\n$`), args.join(' '));
    }
  });
});

test('--help on every command (passwd included) and --version everywhere: stdout, exit 0', async () => {
  const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  for (const command of [[], ['broker'], ['pub'], ['sub'], ['passwd'], ['bench']]) {
    const name = ['cicada', ...command].join(' ');
    const help = await runCicada([...command, '--help']);
    assert.equal(help.code, 0, name);
    assert.match(help.stdout, new RegExp(`^${name} version ${version.replaceAll('.', '\\.')} running on Node\\.js v\\d+[^\\n]*\\n\\nUsage: `), name);
    const v = await runCicada([...command, '--version']);
    assert.equal(v.code, 0, name);
    assert.equal(v.stdout, `${name} version ${version} running on Node.js ${process.version}.\n`, name);
  }
});

describe('TLS failures exit as mosquitto_pub / mosquitto_sub do', { concurrency: 2 }, () => {
  test('certificate not trusted: exit 8 (MOSQ_ERR_TLS); no client certificate where one is required: exit 7 (connection lost)', async (t) => {
    const dir = tempDir(t);
    const c = makeCerts(dir);
    const mosq = await startMosquitto(dir, ['allow_anonymous true', `cafile ${c.ca}`, `certfile ${c.cert}`, `keyfile ${c.key}`, 'require_certificate true']);
    t.after(() => mosq.stop());
    const at = ['-h', '127.0.0.1', '-p', String(mosq.port)];
    const cases: Array<[string, string[]]> = [
      ['untrusted', ['--cafile', c.cert, '--cert', c.clientCert, '--key', c.clientKey]],
      ['no client certificate', ['--cafile', c.ca]],
    ];
    for (const [what, flags] of cases) {
      for (const tool of ['pub', 'sub'] as const) {
        const args = [...at, ...flags, '-t', 't', ...(tool === 'pub' ? ['-m', 'x'] : ['-C', '1'])];
        const theirs = await runProcess(`mosquitto_${tool}`, args, 10_000);
        const ours = await runCicada([tool, ...args]);
        // Mosquitto's code depends on where its loop meets the failure: 8 (MOSQ_ERR_TLS) or 7
        // (MOSQ_ERR_CONN_LOST) from the network loop, 1 when the blocking connect meets it first
        // ("Unable to connect (A TLS error occurred.)"). Ours is always the specific code.
        // Without a client certificate, TLS 1.3 completes the client's side of the handshake; the
        // server's alert (8) or its hang-up (7) comes after.
        assert.ok((what === 'untrusted' ? [8] : [7, 8]).includes(ours.code ?? -1), `${tool}, ${what}: ${ours.code} ${ours.stderr}`);
        assert.ok([1, 7, 8].includes(theirs.code ?? -1), `mosquitto_${tool}, ${what}: ${theirs.code} ${theirs.stderr}`);
        assert.match(ours.stderr, /^Error: (A TLS error occurred|The connection was lost)[^\n]*\n$/, `one line: ${ours.stderr}`);
      }
    }
    const ok = await runCicada(['pub', '-h', 'localhost', '-p', String(mosq.port), '--cafile', c.ca, '--cert', c.clientCert, '--key', c.clientKey, '--tls-version', 'tlsv1.2', '-t', 't', '-m', 'x']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('--capath DIR (c_rehash layout) and --tls-use-os-certs (the test CA is not an OS CA: refused, exit 8)', async (t) => {
    const dir = tempDir(t);
    const c = makeCerts(dir);
    const capath = join(dir, 'capath');
    mkdirSync(capath);
    copyFileSync(c.ca, join(capath, 'ca.pem'));
    execFileSync('openssl', ['rehash', capath]);
    const mosq = await startMosquitto(dir, ['allow_anonymous true', `certfile ${c.cert}`, `keyfile ${c.key}`]);
    t.after(() => mosq.stop());
    const at = ['-h', 'localhost', '-p', String(mosq.port), '-t', 't', '-m', 'x'];
    const viaCapath = await runCicada(['pub', ...at, '--capath', capath]);
    assert.equal(viaCapath.code, 0, viaCapath.stderr);
    assert.equal((await runProcess('mosquitto_pub', [...at, '--capath', capath], 10_000)).code, 0);
    const osOnly = await runCicada(['pub', ...at, '--tls-use-os-certs']);
    assert.equal(osOnly.code, 8, osOnly.stderr);
    assert.match(osOnly.stderr, /^Error: A TLS error occurred/);
    const both = await runCicada(['pub', ...at, '--tls-use-os-certs', '--cafile', c.ca]);
    assert.equal(both.code, 0, both.stderr);
    const badDir = await runCicada(['pub', ...at, '--capath', join(dir, 'nope')]);
    assert.equal(badDir.code, 1);
    assert.match(badDir.stderr, /^Error: Problem setting TLS options: cannot read the directory/);
  });
});

test('a persistent subscriber whose queued message arrives before its SUBACK (-c -i X -q 1 -C 1): exit 0, no error', async (t) => {
  const b = await cicadaBroker(t);
  const at = ['-h', '127.0.0.1', '-p', String(b.port)];
  const first = await runCicada(['sub', ...at, '-c', '-i', 'early', '-q', '1', '-t', 'q/t', '-E']);
  assert.equal(first.code, 0, first.stderr);
  for (let i = 0; i < 3; i++) assert.equal((await runProcess('mosquitto_pub', [...at, '-t', 'q/t', '-m', `m${i}`, '-q', '1'], 5000)).code, 0);
  const back = await runCicada(['sub', ...at, '-c', '-i', 'early', '-q', '1', '-t', 'q/t', '-C', '1']);
  assert.equal(back.stderr, '');
  assert.equal(back.code, 0);
  assert.equal(back.stdout, 'm0\n');
});

test('a publish refused by the ACL (5.0, QoS 1 and 2): the line mosquitto_pub prints; exit 1 (mosquitto_pub exits 0)', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'acl'), 'topic read #\ntopic readwrite ok/#\n');
  const mosq = await startMosquitto(dir, ['allow_anonymous true', `acl_file ${join(dir, 'acl')}`]);
  t.after(() => mosq.stop());
  for (const qos of ['1', '2']) {
    const args = ['-h', '127.0.0.1', '-p', String(mosq.port), '-t', 'denied', '-m', 'x', '-q', qos, '-V', 'mqttv5'];
    const theirs = await runProcess('mosquitto_pub', args, 10_000);
    const ours = await runCicada(['pub', ...args]);
    assert.equal(theirs.stderr, 'Warning: Publish 1 failed: Not authorized.\n');
    assert.equal(ours.stderr, theirs.stderr);
    // Safer than mosquitto_pub's 0: a script must not believe a refused message was published.
    assert.equal(ours.code, 1);
  }
});

test('cicada sub whose every subscription is refused (Cicada ACL, 5.0 and 3.1.1): one line with the reason, exit 1', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'acl'), 'topic readwrite ok/#\n');
  const { createBroker } = await import('../../src/index.js');
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, security: { allowAnonymous: true, aclFile: join(dir, 'acl') } });
  await broker.listen();
  t.after(() => broker.close());
  for (const [version, reason] of [['mqttv5', 'Not authorized'], ['mqttv311', 'refused']]) {
    const r = await runCicada(['sub', '-h', '127.0.0.1', '-p', String(broker.port), '-V', version!, '-t', 'secret/#']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `All subscription requests were denied (${reason}).\n`);
  }
});

test('a client pointed at a server that is not MQTT says so in one line; one that hangs up: exit 7 as Mosquitto', async (t) => {
  const http = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  });
  const hangUp = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.destroy());
  });
  for (const server of [http, hangUp]) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    http.close();
    hangUp.close();
  });
  const port = (s: net.Server): string => String((s.address() as net.AddressInfo).port);
  for (const tool of ['pub', 'sub'] as const) {
    const extra = tool === 'pub' ? ['-m', 'x'] : [];
    const r = await runCicada([tool, '-h', '127.0.0.1', '-p', port(http), '-t', 't', ...extra]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: mqtt://127.0.0.1:${port(http)} is not an MQTT server (its answer to CONNECT is not a CONNACK).\n`);
    const args = ['-h', '127.0.0.1', '-p', port(hangUp), '-t', 't', ...extra];
    const ours = await runCicada([tool, ...args]);
    // mosquitto_sub retries such a server for ever; mosquitto_pub gives up with 7 (or 1, see above).
    if (tool === 'pub') assert.ok([1, 7].includes((await runProcess('mosquitto_pub', args, 10_000)).code ?? -1));
    assert.equal(ours.code, 7);
    assert.match(ours.stderr, /^Error: The connection was lost[^\n]*\n$/);
  }
});

describe('flags users type', { concurrency: 3 }, () => {
  test('--unix: cicada pub over a unix socket reaches mosquitto_sub --unix; -A binds the local address; --nodelay accepted', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'mqtt.sock');
    const b = await cicadaBroker(t, [{ port: 0, path }, { port: 0, host: '127.0.0.1' }]);
    const sub = spawnProcess('mosquitto_sub', ['--unix', path, '-t', 'u/#', '-C', '2', '-W', '20']);
    t.after(() => sub.kill('SIGKILL'));
    await waitFor(() => b.subscribes() >= 1, 10_000, 'mosquitto_sub subscribed');
    assert.equal((await runCicada(['pub', '--unix', path, '-t', 'u/1', '-m', 'over unix', '--nodelay'])).code, 0);
    const tcpPort = new URL(b.urls.find((u) => u.startsWith('mqtt://'))!).port;
    const bound = await runCicada(['pub', '-h', '127.0.0.1', '-p', tcpPort, '-A', '127.0.0.1', '-t', 'u/2', '-m', 'bound']);
    assert.equal(bound.code, 0, bound.stderr);
    assert.equal((await sub.exit(10_000)).stdout, 'over unix\nbound\n');
    const missing = await runCicada(['pub', '--unix', join(dir, 'nope.sock'), '-t', 'u', '-m', 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error: cannot connect to unix:[^\n]*nope\.sock: connect ENOENT[^\n]*\n$/);
  });

  test('-L ws:// and wss://: publish and subscribe over WebSocket listeners', async (t) => {
    const dir = tempDir(t);
    const c = makeCerts(dir);
    const tls = { cert: readFileSync(c.cert), key: readFileSync(c.key) };
    const b = await cicadaBroker(t, [{ port: 0, host: '127.0.0.1', protocol: 'websockets' }, { port: 0, host: '127.0.0.1', protocol: 'websockets', tls }]);
    const [ws, wss] = b.urls.map((u) => new URL(u).port);
    const sub = cicada(['sub', '-L', `ws://127.0.0.1:${ws}/w/%23`, '-v', '-C', '2', '-W', '20']);
    t.after(() => sub.kill('SIGKILL'));
    await waitFor(() => b.subscribes() >= 1, 10_000, 'cicada sub over ws subscribed');
    assert.equal((await runCicada(['pub', '-L', `ws://127.0.0.1:${ws}/w/plain`, '-m', 'ws', '-q', '1'])).code, 0);
    const secure = await runCicada(['pub', '-L', `wss://localhost:${wss}/w/secure`, '--cafile', c.ca, '-m', 'wss', '-V', 'mqttv5']);
    assert.equal(secure.code, 0, secure.stderr);
    assert.equal((await sub.exit(10_000)).stdout, 'w/plain ws\nw/secure wss\n');
    const bad = await runCicada(['pub', '-L', 'foo://127.0.0.1/t', '-m', 'x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: Unsupported URL scheme 'foo'/);
  });

  test('-E exits once subscribed (as mosquitto_sub -E); --remove-retained clears the retained messages it receives', async (t) => {
    const b = await cicadaBroker(t);
    const at = ['-h', '127.0.0.1', '-p', String(b.port)];
    for (const topic of ['r/a', 'r/b']) assert.equal((await runProcess('mosquitto_pub', [...at, '-t', topic, '-m', `kept ${topic}`, '-r'], 5000)).code, 0);
    const e = await runCicada(['sub', ...at, '-t', 'nothing/here', '-E']);
    assert.equal(e.code, 0);
    assert.equal(e.code, (await runProcess('mosquitto_sub', [...at, '-t', 'nothing/here', '-E'], 5000)).code);
    const cleared = await runCicada(['sub', ...at, '-t', 'r/#', '--remove-retained', '-C', '2', '-v']);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.deepEqual(cleared.stdout.trim().split('\n').sort(), ['r/a kept r/a', 'r/b kept r/b']);
    const after = await runProcess('mosquitto_sub', [...at, '-t', 'r/#', '--retained-only', '-W', '1'], 5000);
    assert.equal(after.stdout, '', 'no retained message left');
  });
});

test('-F: every mosquitto_sub specifier, widths and @ date fields print what mosquitto_sub prints (5.0 properties)', async (t) => {
  const b = await cicadaBroker(t);
  const format = '%t|%p|%x|%X|%q|%r|%l|%C|%R|%D|%F|%P|%S|%A|%-8t|%8t|%06l|%-6l|%.2p|%5p|%-5p|%3x|%.3t|%%|@Y @@|\\t.';
  const at = ['-h', '127.0.0.1', '-p', String(b.port), '-V', 'mqttv5', '-t', 'fmt/#', '-C', '1', '-D', 'subscribe', 'subscription-identifier', '7', '-F', format];
  const theirs = spawnProcess('mosquitto_sub', at);
  const ours = cicada(['sub', ...at]);
  t.after(() => {
    theirs.kill('SIGKILL');
    ours.kill('SIGKILL');
  });
  await waitFor(() => b.subscribes() >= 2, 10_000, 'both subscribed');
  const props = ['-D', 'publish', 'content-type', 'text/plain', '-D', 'publish', 'response-topic', 'fmt/reply', '-D', 'publish', 'correlation-data', 'c0rr', '-D', 'publish', 'payload-format-indicator', '1', '-D', 'publish', 'user-property', 'k1', 'v1', '-D', 'publish', 'user-property', 'k2', 'v2'];
  assert.equal((await runProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(b.port), '-V', 'mqttv5', '-t', 'fmt/a', '-m', 'hello', '-q', '1', ...props], 5000)).code, 0);
  const [m, c] = await Promise.all([theirs.exit(10_000), ours.exit(10_000)]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, m.stdout);
  assert.match(c.stdout, /^fmt\/a\|hello\|68656c6c6f\|68656C6C6F\|0\|0\|5\|text\/plain\|fmt\/reply\|c0rr\|1\|k1:v1 k2:v2\|7\|/);
});

test('-F fields without a broker: %E %I %U @ dates (unit)', async () => {
  const { formatMessage, strftime } = await import('../../src/cli/sub-format.js');
  const now = (): Date => new Date(2026, 0, 5, 9, 7, 3, 250);
  const msg = { topic: 'u', payload: Buffer.from('abc'), qos: 0 as const, retain: false, dup: false, properties: { messageExpiryInterval: 60, topicAlias: 3 } };
  const f = (format: string): string => formatMessage(msg, { verbose: false, noNewline: true, format, pretty: false, now });
  assert.equal(f('%E|%5E|%-5E|%A'), '60|   60|60   |3');
  assert.equal(f('@Y-@m-@d @H:@M:@S.@N @j @a @b @e'), '2026-01-05 09:07:03.250000000 005 Mon Jan  5');
  assert.equal(f('%U'), `${Math.floor(now().getTime() / 1000)}.250000000`);
  assert.equal(strftime('T', now()), '09:07:03');
  const none = { ...msg, properties: undefined };
  assert.equal(formatMessage(none, { verbose: false, noNewline: true, format: '[%5E][%05S][%5C][%R][%D]', pretty: false, now }), '[     ][00000][     ][][]');
});

test('start-up: each command loads only what it needs (no broker for the tools, no ws or node:tls for a TCP client)', async () => {
  const source = (file: string): string => readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
  const staticImports = (file: string): string[] => [...source(file).matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
  // main.js: the dispatcher imports only its own small helpers (reload-signal imports nothing and
  // is already loaded by bin/cicada.js); every command comes by import().
  assert.deepEqual(staticImports('cli/main.js'), ['./usage.js', './reload-signal.js']);
  assert.equal(staticImports('cli/reload-signal.js').length, 0);
  for (const tool of ['pub', 'sub', 'passwd', 'bench', 'import']) assert.match(source('cli/main.js'), new RegExp(`import\\('\\./${tool}\\.js'\\)`));
  assert.ok(!staticImports('client/transport.js').some((m) => m === 'ws' || m === 'node:tls'), 'ws and node:tls are loaded with the first connection that needs them');
  // And in a process: `cicada pub` against nothing loads neither node:tls nor the broker's modules.
  const script = `const m = await import(${JSON.stringify(new URL('../../src/cli/main.js', import.meta.url).href)});
    await m.main(['pub', '-h', '127.0.0.1', '-p', '1', '-t', 't', '-m', 'x', '--quiet']);
    process.stdout.write(JSON.stringify(process.moduleLoadList.filter((n) => /^NativeModule (tls|_tls_wrap|zlib|http|https|worker_threads)$/.test(n))));`;
  const r = await runProcess(process.execPath, ['--input-type=module', '-e', script], 20_000);
  assert.equal(r.stdout, '[]', r.stderr);
});
