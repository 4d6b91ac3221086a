// `cicada passwd` and the password-file module, cross-checked with Mosquitto both ways: files made
// by `cicada passwd` let users log in to mosquitto (password_file, allow_anonymous false); files
// made by mosquitto_passwd verify with Cicada's module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword, PasswordFile, readPasswordFile, verifyPassword } from '../../src/auth/password-file.js';
import { parseHash } from '../../src/auth/password-hash.js';
import { connect, ConnectionRefusedError } from '../../src/client/index.js';
import { runProcess } from '../helpers/processes.js';
import { runCicada, startMosquitto, tempDir } from '../client/support.js';

test('hashPassword: $7$101$ with a 12-byte salt and a 64-byte PBKDF2-SHA512 hash; known vector from mosquitto_passwd', () => {
  const h = hashPassword('secret');
  assert.match(h, /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  const parsed = parseHash(h);
  assert.equal(parsed?.algorithm, 'sha512-pbkdf2');
  assert.equal(parsed?.salt.length, 12);
  // Written by Debian's mosquitto_passwd 2.0.11 (-b, then -H sha512).
  const v7 = '$7$101$ujkOI+PjZTv1/hB9$FHHg5600HjYr+9zKBkvS0Qg3j+OdONJTVDuoYU1mcnWpiG1WhMfItNkoVy32oZYgMz9klp6uuBbwpiF3f+X8uA==';
  const v6 = '$6$rdVkT2/WUw/raq/c$ZuKSyP2A6CbAiQcQ7cAdFFY9iROG1dMiow9KLM/0Yn1dGVaCZ2huDRfuvnCYohHn/GXbTI4BG5jlz81nVLcM9g==';
  assert.equal(hashPassword('secret', { salt: Buffer.from('ujkOI+PjZTv1/hB9', 'base64') }), v7);
  assert.equal(hashPassword('pw2', { algorithm: 'sha512', salt: Buffer.from('rdVkT2/WUw/raq/c', 'base64') }), v6);
  assert.ok(verifyPassword(v7, 'secret'));
  assert.ok(!verifyPassword(v7, 'Secret'));
  assert.ok(verifyPassword(v6, 'pw2'));
  assert.ok(!verifyPassword(v6, 'pw'));
  assert.ok(!verifyPassword('plain', 'plain'), 'plain text never verifies');
  assert.ok(!verifyPassword(undefined, 'x'));
  assert.ok(!verifyPassword('$7$101$AAAA$AAAA', 'x'), 'a truncated hash never verifies');
});

test('a file made by mosquitto_passwd (-c -b, -H sha512, -D) reads and verifies with Cicada', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  for (const args of [['-c', '-b', file, 'alice', 'wonder'], ['-b', file, 'bob', 'builder'], ['-H', 'sha512', '-b', file, 'carol', 'c4'], ['-b', file, 'dave', 'd'], ['-D', file, 'dave']]) {
    const r = await runProcess('mosquitto_passwd', args, 5000);
    assert.equal(r.code, 0, r.stderr);
  }
  const pw = await readPasswordFile(file);
  assert.deepEqual(pw.entries.map((e) => e.username), ['alice', 'bob', 'carol']);
  assert.ok(verifyPassword(pw.get('alice'), 'wonder'));
  assert.ok(verifyPassword(pw.get('bob'), 'builder'));
  assert.ok(verifyPassword(pw.get('carol'), 'c4'));
  assert.ok(!verifyPassword(pw.get('alice'), 'builder'));
  assert.ok(!verifyPassword(pw.get('dave'), 'd'));
});

test('users made by `cicada passwd` (-c -b, -b, -H sha512, prompt, -U) log in to Mosquitto; wrong password and -D users are refused', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  const ok = async (args: string[], input?: string): Promise<void> => {
    const r = await runCicada(['passwd', ...args], 10_000, input);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  await ok(['-c', '-b', file, 'alice', 'wonder']);
  await ok(['-b', file, 'bob', 'builder']);
  await ok(['-H', 'sha512', '-b', file, 'carol', 'c4']);
  await ok([file, 'erin'], 'typed\ntyped\n');
  await ok(['-b', file, 'dave', 'd']);
  await ok(['-D', file, 'dave']);
  writeFileSync(file, `${readFileSync(file, 'utf8')}frank:plain-pw\n`);
  await ok(['-U', file]);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^alice:\$7\$101\$/m);
  assert.match(text, /^carol:\$6\$/m);
  assert.match(text, /^frank:\$7\$/m);
  assert.doesNotMatch(text, /dave/);
  const mosq = await startMosquitto(dir, ['allow_anonymous false', `password_file ${file}`]);
  t.after(() => mosq.stop());
  const url = `mqtt://127.0.0.1:${mosq.port}`;
  for (const [username, password] of [['alice', 'wonder'], ['bob', 'builder'], ['carol', 'c4'], ['erin', 'typed'], ['frank', 'plain-pw']]) {
    const c = await connect(url, { username, password, reconnect: false });
    await c.end();
  }
  for (const [username, password] of [['alice', 'builder'], ['dave', 'd']]) {
    await assert.rejects(connect(url, { username, password, reconnect: false }), (e: unknown) => e instanceof ConnectionRefusedError && e.reasonCode === 5);
  }
});

test('cicada passwd errors as mosquitto_passwd: missing file, ":" in a username, unknown user for -D, mismatched passwords, bad flag', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  const missing = await runCicada(['passwd', '-b', join(dir, 'nope'), 'a', 'b']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `Error: Unable to open password file ${join(dir, 'nope')}. No such file or directory.\n`);
  assert.equal((await runCicada(['passwd', '-c', '-b', file, 'a:b', 'c'])).stderr, "Error: Username must not contain the ':' character.\n");
  assert.equal((await runCicada(['passwd', '-c', '-b', file, 'a', 'b'])).code, 0);
  const unknown = await runCicada(['passwd', '-D', file, 'zed']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'Warning: User zed not found in password file.\n');
  const mismatch = await runCicada(['passwd', file, 'b'], 10_000, 'one\ntwo\n');
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /Passwords do not match/);
  const bad = await runCicada(['passwd', '-z', file, 'a']);
  assert.equal(bad.code, 1);
  // One line and where to find the usage, as mosquitto_pub does (issue 13: no whole usage on a mistake).
  assert.equal(bad.stderr, "Error: Unknown option '-z'.\n\nUse 'cicada passwd --help' to see usage.\n");
  const pw = PasswordFile.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(pw.entries.map((e) => e.username), ['a']);
});

test('PasswordFile keeps comments and order when entries are changed', () => {
  const pw = PasswordFile.parse('# users\nalice:x\n\nbob:y\n');
  pw.set('alice', 'z');
  pw.set('carol', 'w');
  pw.delete('bob');
  assert.equal(pw.toString(), '# users\nalice:z\n\ncarol:w\n');
});
