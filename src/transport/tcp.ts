/** Plain TCP listener (mqtt://). Nagle is off: MQTT packets are small and latency matters. */
import { createServer, type Server } from 'node:net';
import type { BrokerCore } from '../broker/core.js';
import { Connection } from './connection.js';

export function listenTcp(core: BrokerCore, host: string, port: number): Promise<Server> {
  const server = createServer({ noDelay: true }, (socket) => {
    new Connection(socket, core, `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (error) => core.log.error({ err: error }, 'listener error'));
      resolve(server);
    });
  });
}
