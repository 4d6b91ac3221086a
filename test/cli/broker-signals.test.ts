// SIGHUP sent to a real `cicada broker` process while it starts (its modules loading, the
// warm-up, the database restore): Node's default would end it with status 129. It must live on,
// and the reload asked for must run once the broker is up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

/** Whether process `pid` has a handler for SIGHUP (bit 0 of SigCgt in /proc/PID/status). */
function catchesSighup(pid: number): boolean {
  try {
    const mask = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

async function logsIn(port: number, user: string, password: string): Promise<boolean> {
  const r = await runProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', user, '-P', password, '-t', 'hup/t', '-m', 'x'], 5000);
  return r.code === 0;
}

test('SIGHUP during start-up (loading, warm-up, database restore) does not end the broker; the reload runs once it is up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-hup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const [file, user, pw] of [[passwd, 'alice', 'a'], [`${passwd}.next`, 'bob', 'b']] as const) {
    if (file !== passwd) copyFileSync(passwd, file);
    assert.equal((await runProcess('mosquitto_passwd', ['-b', file, user, pw], 10_000)).code, 0);
  }
  const conf = join(dir, 'cicada.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwd}\npersistence_location ${dir}\nsys_interval 0\n`);
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf]); // warm-up on, as by default
  t.after(() => broker.kill('SIGKILL'));
  const pid = broker.child.pid!;

  const store = join(dir, 'cicada.db');
  // 1. As soon as the launcher holds SIGHUP, while the broker's modules load (without the hold:
  //    once the store is opened, during the warm-up).
  await waitFor(() => catchesSighup(pid) || existsSync(store) || !broker.running, 10_000, 'the launcher to catch SIGHUP');
  broker.kill('SIGHUP');
  // 2. Once the store exists (the password file has been read), during the warm-up and the restore:
  //    a new password file, then SIGHUP. Only a reload after start-up can let bob in.
  await waitFor(() => existsSync(store) || !broker.running, 10_000, 'the store to be opened');
  assert.ok(broker.running, `SIGHUP during start-up ended the broker: ${broker.stderr}`);
  renameSync(`${passwd}.next`, passwd);
  const duringStartUp = !(await canConnect(port));
  broker.kill('SIGHUP');
  assert.ok(duringStartUp, 'the broker was already listening: the second SIGHUP did not come during start-up');

  await waitFor(() => broker.stdout.includes('listening on') || !broker.running, 15_000, 'the broker to listen');
  assert.ok(broker.running, `the broker ended (signal ${String(broker.child.signalCode)}, status ${String(broker.child.exitCode)}): ${broker.stderr}`);
  await broker.waitForOutput('reloaded password and ACL files', 5000);
  assert.ok(await logsIn(port, 'bob', 'b'), 'bob (added during start-up) refused: the reload did not run once the broker was up');
  assert.ok(await logsIn(port, 'alice', 'a'));
  const reloads = broker.stdout.split('reloaded password and ACL files').length - 1;
  assert.equal(reloads, 1, 'the SIGHUPs of start-up make one reload');

  // After start-up, SIGHUP reloads at once, as before.
  broker.kill('SIGHUP');
  await waitFor(() => broker.stdout.split('reloaded password and ACL files').length - 1 === 2, 5000, 'a second reload');
  broker.kill('SIGTERM');
  assert.equal((await broker.exit(5000)).code, 0);
});
