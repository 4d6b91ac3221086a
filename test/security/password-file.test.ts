// Password files as Mosquitto reads them: files written by Debian's mosquitto_passwd, then edited
// as people edit them (trailing blanks after the hash, blanks around the user name, CRLF, a third
// field). CICADA_TEST_BROKER=mosquitto runs the first test against Mosquitto 2.0.11 with the same
// file. Lines that cannot be parsed are refused with file:line (at start and on SIGHUP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerKind, cicadaOnly } from '../helpers/broker.js';
import { runProcess } from '../helpers/processes.js';
import { runCicada, startMosquitto, tempDir } from '../client/support.js';
import { refusedCode, startCicada } from './support.js';

/** A file made by mosquitto_passwd -b for `users`; returns its path and each user's hash. */
async function mosquittoPasswd(dir: string, users: Record<string, string>): Promise<{ file: string; hash: Record<string, string> }> {
  const file = join(dir, 'passwd');
  writeFileSync(file, '');
  for (const [user, password] of Object.entries(users)) {
    const r = await runProcess('mosquitto_passwd', ['-b', file, user, password], 10_000);
    assert.equal(r.code, 0, r.stderr);
  }
  const hash: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')) {
    const [user, h] = line.split(':') as [string, string];
    hash[user] = h;
  }
  return { file, hash };
}

/** The URL of a broker (Cicada, or Mosquitto under CICADA_TEST_BROKER=mosquitto) using `file`, no anonymous. */
async function brokerWith(t: Parameters<typeof startCicada>[0], dir: string, file: string): Promise<string> {
  if (brokerKind === 'mosquitto') {
    const m = await startMosquitto(dir, ['allow_anonymous false', `password_file ${file}`]);
    t.after(() => m.stop());
    return `mqtt://127.0.0.1:${m.port}`;
  }
  const { url } = await startCicada(t, { host: '127.0.0.1', port: 0, security: { passwordFile: file, allowAnonymous: false } });
  return url();
}

test('password file edited by hand: trailing blanks after the hash, blanks around the user, CRLF and a third field are ignored as Mosquitto does', async (t) => {
  const dir = tempDir(t);
  const users = { alice: 'a-pw', bob: 'b-pw', carol: 'c-pw', dave: 'd-pw' };
  const { file, hash } = await mosquittoPasswd(dir, users);
  writeFileSync(
    file,
    [
      `alice:${hash.alice}   \t`, // trailing spaces and a tab (the reported case)
      ` bob \t:${hash.bob}`, // blanks around the user name
      `carol:${hash.carol}\r`, // CRLF line end
      `dave:${hash.dave}:some comment`, // a third field, ignored as Mosquitto's strtok does
      '',
    ].join('\n'),
  );
  const url = await brokerWith(t, dir, file);
  for (const [username, password] of Object.entries(users)) {
    assert.equal(await refusedCode(url, { username, password, reconnectPeriod: 0 }), undefined, `${username} refused`);
    assert.notEqual(await refusedCode(url, { username, password: 'wrong', reconnectPeriod: 0 }), undefined, `${username} with a wrong password`);
  }
  // (Cicada answers 4, bad user name or password; Mosquitto 2.0.11 answers 5, not authorized.)
  assert.notEqual(await refusedCode(url, { username: ' bob ', password: 'b-pw', reconnectPeriod: 0 }), undefined, 'the user name is trimmed in the file, not at CONNECT');
});

test('cicada broker -c: a password-file line that cannot be parsed stops start-up with one line naming file:line', cicadaOnly('Mosquitto 2.0.11 skips such lines'), async (t) => {
  const dir = tempDir(t);
  const { file, hash } = await mosquittoPasswd(dir, { alice: 'a-pw' });
  const conf = join(dir, 'cicada.conf');
  writeFileSync(conf, `listener 0 127.0.0.1\npassword_file ${file}\n`);
  for (const [line, why] of [
    ['just some text', "not username:password-hash (no ':')"],
    [`:${hash.alice}`, "no username before ':'"],
    ['erin:   ', "no password hash after 'erin:'"],
    ['frank:plain-text-password', 'the password of frank is not a readable $6$ or $7$ hash (plain text? convert the file with cicada passwd -U)'],
    ['gina:$7$101$garbage', 'the password of gina is not a readable $6$ or $7$ hash'],
  ] as const) {
    writeFileSync(file, `# users\nalice:${hash.alice}\n${line}\n`);
    const r = await runCicada(['broker', '-c', conf], 10_000);
    assert.equal(r.code, 1, `${line}: exit code`);
    assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, `one line: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`cicada: ${file}:3: ${why}`), `${line}: ${r.stderr}`);
  }
});

test('SIGHUP (reload) with a broken password-file line: logged with file:line, the previous users kept', cicadaOnly('reload of an embedded broker'), async (t) => {
  const dir = tempDir(t);
  const { file, hash } = await mosquittoPasswd(dir, { alice: 'a-pw' });
  const { broker, logs, url } = await startCicada(t, { host: '127.0.0.1', port: 0, security: { passwordFile: file, allowAnonymous: false } });
  writeFileSync(file, `alice:${hash.alice}\nno colon here\n`);
  broker.reload();
  assert.ok(logs.some((l) => l.includes(`${file}:2: not username:password-hash`)), logs.join('\n'));
  assert.equal(await refusedCode(url(), { username: 'alice', password: 'a-pw', reconnectPeriod: 0 }), undefined);
});
