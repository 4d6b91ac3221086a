#!/usr/bin/env node
// Installs the system packages the tests talk to, when they are missing: Debian's mosquitto
// broker and clients, Python paho for /usr/bin/python3, redis-server, PostgreSQL 15, InfluxDB and Chromium. Runs `apt-get update` once, then
// `apt-get install -y` with only what is missing. Exits non-zero with one line if it cannot.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const need = [];
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
if (!has('mosquitto_pub') || !has('mosquitto_sub') || !has('mosquitto_passwd')) need.push('mosquitto-clients');
if (!existsSync('/usr/sbin/mosquitto') && !has('mosquitto')) need.push('mosquitto');
if (!has('openssl')) need.push('openssl');
// The Node 24 pass (scripts/node24.mjs) compiles better-sqlite3 for Node 24 once.
if (!has('g++') || !has('make')) need.push('g++', 'make');
const paho = spawnSync('/usr/bin/python3', ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' });
if (paho.status !== 0) need.push('python3-paho-mqtt');
// The cluster and the rule engine's Redis sink talk to a real redis-server; the rule engine's
// sinks to PostgreSQL 15 and InfluxDB 1.x; the dashboard tests drive Debian's headless Chromium.
if (!has('redis-server')) need.push('redis-server');
if (!existsSync('/usr/lib/postgresql/15/bin/postgres')) need.push('postgresql-15');
if (!has('influxd')) need.push('influxdb');
if (!has('chromium')) need.push('chromium');

if (need.length > 0) {
  process.stdout.write(`installing test dependencies: ${need.join(' ')}\n`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...need], { stdio: 'inherit', env });
  } catch {
    process.stderr.write(`cannot install ${need.join(' ')} (apt-get failed; run as root or install them by hand)\n`);
    process.exit(1);
  }
}
