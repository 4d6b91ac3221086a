// Directives about the broker process itself: `user` drops root privileges once the listeners
// are open (a port below 1024 stays open), as Mosquitto does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { runProcess, spawnProcess, START_TIMEOUT_MS } from '../helpers/processes.js';
import { tempDir } from '../security/support.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));
const root = process.getuid?.() === 0;

test('user nobody: started as root, the broker runs as nobody once listening', { skip: root ? false : 'needs root' }, async (t) => {
  const dir = tempDir(t, 'cicada-user-');
  const port = await freePort();
  const conf = join(dir, 'c.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'warm_up false', 'user nobody', ''].join('\n'));
  const broker = spawnProcess(process.execPath, [BIN, 'broker', '-c', conf]);
  t.after(() => broker.kill('SIGKILL'));
  await broker.waitForOutput('running as user nobody', START_TIMEOUT_MS);
  const status = readFileSync(`/proc/${broker.child.pid}/status`, 'utf8');
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  const nobody = (await runProcess('id', ['-u', 'nobody'], 5000)).stdout.trim();
  assert.equal(uid, nobody);
  const pub = await runProcess('mosquitto_pub', ['-p', String(port), '-t', 't', '-m', 'x'], 5000);
  assert.equal(pub.code, 0, pub.stderr);
});
