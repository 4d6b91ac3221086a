// Aedes 1.x for `npm run bench`: 127.0.0.1 only, in-memory persistence (its default), Nagle off
// like the other brokers. Usage: node bench/aedes-server.mjs PORT
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 1883);
const aedes = await Aedes.createBroker();
const server = net.createServer({ noDelay: true }, aedes.handle);
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => console.log(`aedes listening on 127.0.0.1:${port}`));
const stop = () => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
