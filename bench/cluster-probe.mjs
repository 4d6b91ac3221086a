// Measures what several processes sharing one port would give (issue 7: "where Node's single
// thread is the limit, say what would lift it and measure it"). Each worker runs an independent
// Cicada broker on the same port through node:cluster; there is no routing between workers yet,
// so this only measures connection handling,
// the part a future multi-process mode would spread. Usage:
//   node bench/cluster-probe.mjs PORT WORKERS   (then load it, e.g. with mqttload -s conn)
import cluster from 'node:cluster';

// Workers accept on the shared socket themselves (the OS spreads connections), rather than the
// primary accepting and handing each one over IPC, which makes the primary the bottleneck.
cluster.schedulingPolicy = cluster.SCHED_NONE;
import { createBroker } from '../dist/src/index.js';

const port = Number(process.argv[2] ?? 18896);
const workers = Number(process.argv[3] ?? 2);
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const broker = createBroker({ host: '127.0.0.1', port, logLevel: 'warn', sysInterval: 0 });
  await broker.listen();
}
