// The group-commit invariant, checked directly: bytes queued for a client leave only after the
// state they report is committed, on every flush path (end of turn, 'drain', connection end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { BrokerCore } from '../../src/broker/core.js';
import { silentLogger } from '../../src/broker/logger.js';
import { resolveOptions } from '../../src/broker/options.js';
import { Session } from '../../src/broker/session.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { Connection } from '../../src/transport/connection.js';

class SpyStorage extends MemoryStorage {
  override readonly durable = true as unknown as false;
  constructor(private readonly log: string[]) {
    super();
  }
  override commit(): number {
    this.log.push('commit');
    return 0;
  }
}

async function socketPair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  return new Promise((resolve) => {
    const listener = createServer((server) => resolve({ server, client, close: () => (server.destroy(), client.destroy(), listener.close()) }));
    let client: Socket;
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      client = connect(typeof address === 'object' && address !== null ? address.port : 0, '127.0.0.1');
    });
  });
}

for (const path of ['flush', 'end'] as const) {
  test(`persistence: the store is committed before queued bytes are written (${path})`, async () => {
    const events: string[] = [];
    const core = new BrokerCore(resolveOptions({ logLevel: 'silent' }), silentLogger, new SpyStorage(events));
    const { server, close } = await socketPair();
    try {
      const originalWrite = server.write.bind(server);
      server.write = (chunk: Buffer): boolean => {
        events.push('write');
        return originalWrite(chunk);
      };
      const connection = new Connection(server, core, 'spy:0');
      const session = new Session('spy', core);
      core.persistence?.saveSession(session, 0); // state that must be durable first
      connection.write(Buffer.from([0x40, 0x02, 0x00, 0x01])); // a PUBACK reporting it
      if (path === 'flush') connection.flush();
      else connection.end();
      assert.deepEqual(events.slice(0, 2), ['commit', 'write']);
    } finally {
      close();
    }
  });
}
