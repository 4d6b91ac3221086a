// The young-generation cap (--max-semi-space-size=4, bin/cicada.js) holds however the broker is
// started on a Node with process.execve (22.15+, 24): as the `cicada` binary through its
// `#!/usr/bin/env node` shebang (also what npx runs), which starts itself again in place with the
// flag, and with the flag given (npm start) or another value chosen by the user. No `env -S`
// (BusyBox's env lacks it). On an older Node (no execve) the launcher does not relaunch: the broker
// keeps its pid, uncapped unless the flag is given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cicadaOnly, freePort } from '../helpers/broker.js';
import { spawnProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../../bin/cicada.js', import.meta.url));

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** `pid` and its children (the launcher may have started the broker as a child). */
function family(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    // gone
  }
  return [pid, ...children];
}

const alive = (pid: number): boolean => cmdline(pid).length > 0;

const execve = typeof (process as { execve?: unknown }).execve === 'function';
for (const [name, command, prefix, expected] of [
  ['the cicada binary (shebang, as npx runs it)', BIN, [], execve ? '--max-semi-space-size=4' : undefined],
  ['node bin/cicada.js', process.execPath, [BIN], execve ? '--max-semi-space-size=4' : undefined],
  ['node --max-semi-space-size=16 bin/cicada.js (the user chose)', process.execPath, ['--max-semi-space-size=16', BIN], '--max-semi-space-size=16'],
] as const) {
  test(`the broker runs with its young-generation cap when started as ${name}; SIGTERM ends it with code 0, SIGKILL of the launcher leaves no broker behind`, cicadaOnly('launcher'), async (t) => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cicada-launcher-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'cicada.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\npersistence false\nwarm_up false\n`);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const broker = spawnProcess(command, [...prefix, 'broker', '-c', conf]);
      t.after(() => broker.kill('SIGKILL'));
      await broker.waitForOutput('listening on', 20_000);
      const pid = broker.child.pid as number;
      const brokers = family(pid).filter((p) => cmdline(p).includes('broker'));
      assert.deepEqual(brokers, [pid], 'one broker process, the one started (relaunched in place, or not at all)');
      const running = pid;
      const flags = cmdline(running).filter((a) => a.startsWith('--max-semi-space-size'));
      assert.deepEqual(flags, expected === undefined ? [] : [expected], cmdline(running).join(' '));
      broker.kill(signal);
      const exit = await broker.exit(10_000);
      if (signal === 'SIGTERM') assert.equal(exit.code, 0);
      await waitFor(() => !alive(running) || !cmdline(running).includes('broker'), 10_000, 'the broker process ended');
    }
  });
}
