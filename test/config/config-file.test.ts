import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigText, parseConfig, readConfigFile } from '../../src/config/config-file.js';

test('mosquitto.conf-style directives become broker options', () => {
  const options = parseConfig(
    [
      '# comment',
      '',
      'listener 1884 0.0.0.0',
      'max_inflight_messages 5',
      'max_queued_messages 7',
      'max_packet_size 1024',
      'max_keepalive 120',
      'sys_interval 3',
      'allow_zero_length_clientid false',
      'connect_timeout 4',
      'message_size_limit 1000',
      'retain_available false',
      'persistence true',
      'persistence_commit_interval 5',
      'persistent_client_expiration 2d',
      'log_type warning',
      'log_type error',
      'max_topic_levels 16',
      'max_subscriptions_per_client 50',
      'slow_consumer disconnect',
      'connection_rate_limit 20',
      'publish_rate_limit 1000',
      'max_outgoing_bytes 65536',
    ].join('\n'),
    'x.conf',
  );
  assert.deepEqual(options, {
    listeners: [{ port: 1884, host: '0.0.0.0' }],
    maxInflightMessages: 5,
    maxQueuedMessages: 7,
    maxPacketSize: 1024,
    maxKeepalive: 120,
    sysInterval: 3,
    allowZeroLengthClientId: false,
    connectTimeoutMs: 4000,
    messageSizeLimit: 1000,
    retainAvailable: false,
    persistence: true,
    persistenceCommitIntervalMs: 5,
    persistentClientExpiration: 2 * 86_400,
    logTypes: ['warning', 'error'],
    maxTopicLevels: 16,
    maxSubscriptionsPerClient: 50,
    slowConsumer: 'disconnect',
    connectionRateLimit: 20,
    publishRateLimit: 1000,
    maxOutgoingBytes: 65536,
    security: { allowAnonymous: false }, // a listener is configured: as Mosquitto 2
  });
});

test('listeners: sections, default listener, unix sockets, websockets, socket_domain', () => {
  const options = parseConfig(
    [
      'port 1885',
      'max_connections 3',
      'listener 9001 127.0.0.1',
      'protocol websockets',
      'listener 0 /tmp/cicada-test.sock',
      'listener 0 relative.sock',
      'listener 1886',
      'socket_domain ipv6',
    ].join('\n'),
    '/etc/x.conf',
  );
  assert.deepEqual(options.listeners, [
    { port: 1885, host: '0.0.0.0', maxConnections: 3 },
    { port: 9001, host: '127.0.0.1', protocol: 'websockets' },
    { port: 0, path: '/tmp/cicada-test.sock' },
    { port: 0, path: '/etc/relative.sock' },
    { port: 1886, host: '::' },
  ]);
  // No listener line: a listener setting opens the default listener, loopback only.
  assert.deepEqual(parseConfig('max_connections 10', 'y.conf').listeners, [{ port: 1883, host: '127.0.0.1', maxConnections: 10 }]);
  // Settings for a default listener that is never opened are ignored with a warning, as Mosquitto does.
  const loaded = loadConfigText('max_connections 10\nlistener 1890 127.0.0.1\nautosave_interval 1800', 'z.conf');
  assert.deepEqual(loaded.options.listeners, [{ port: 1890, host: '127.0.0.1' }]);
  assert.equal(loaded.warnings.length, 2);
  assert.match(loaded.warnings[1] as string, /^z\.conf:1: max_connections: applies to the default listener/);
  assert.match(loaded.warnings[0] as string, /^z\.conf:3: autosave_interval: accepted for Mosquitto compatibility, no effect: Cicada commits every change/);
});

test('security settings are global, or per listener with per_listener_settings (wherever it is written)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-conf-'));
  writeFileSync(join(dir, 'passwd'), '');
  writeFileSync(join(dir, 'acl'), '');
  const global = parseConfig(`listener 1883\nallow_anonymous false\npassword_file passwd\nlistener 1884\nacl_file ${join(dir, 'acl')}\njwt_secret s3cret\njwt_algorithms HS256,HS512\nhttp_auth_url http://127.0.0.1:1/auth\nhttp_auth_timeout 500\nhttp_auth_cache_ttl 5\nhttp_auth_acl true`, join(dir, 'a.conf'));
  assert.deepEqual(global.security, {
    allowAnonymous: false,
    passwordFile: join(dir, 'passwd'),
    aclFile: join(dir, 'acl'),
    jwt: { secret: 's3cret', algorithms: ['HS256', 'HS512'] },
    httpAuth: { url: 'http://127.0.0.1:1/auth', timeoutMs: 500, cacheTtlMs: 5000, authorize: true },
  });
  const per = parseConfig(`listener 1883\nallow_anonymous true\nlistener 1884\npassword_file passwd\nallow_anonymous false\nper_listener_settings true`, join(dir, 'b.conf'));
  assert.equal(per.perListenerSettings, true);
  assert.deepEqual(per.security, {});
  assert.deepEqual(per.listeners?.map((l) => l.security), [{ allowAnonymous: true }, { passwordFile: join(dir, 'passwd'), allowAnonymous: false }]);
});

test('TLS settings are read per listener and checked when the section ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-conf-'));
  for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, name), `${name}\n`);
  mkdirSync(join(dir, 'capath'));
  writeFileSync(join(dir, 'capath', 'extra.crt'), 'extra\n');
  writeFileSync(join(dir, 'capath', '9d66eef0.0'), 'hashed\n');
  writeFileSync(join(dir, 'capath', 'README'), 'not a certificate\n');
  const options = parseConfig(
    ['listener 8883', 'cafile ca.pem', 'capath capath', 'certfile cert.pem', 'keyfile key.pem', 'require_certificate true', 'use_identity_as_username true', 'tls_version tlsv1.3', 'ciphers ECDHE-RSA-AES128-GCM-SHA256', 'ciphers_tls1.3 TLS_AES_256_GCM_SHA384'].join('\n'),
    join(dir, 't.conf'),
  );
  const tls = options.listeners?.[0]?.tls;
  assert.equal(tls?.cert.toString(), 'cert.pem\n');
  assert.equal(tls?.key.toString(), 'key.pem\n');
  assert.deepEqual((tls?.ca as Buffer[]).map(String), ['ca.pem\n', 'hashed\n', 'extra\n'], 'cafile, then capath in name order');
  assert.equal(tls?.requireCertificate, true);
  assert.equal(tls?.useIdentityAsUsername, true);
  assert.equal(tls?.minVersion, 'TLSv1.3');
  assert.equal(tls?.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_256_GCM_SHA384');
  const bad: Array<[string, RegExp]> = [
    ['listener 8883\ncertfile cert.pem', /t\.conf:1: listener 8883: TLS settings need both certfile and keyfile$/],
    ['listener 8883\ncertfile cert.pem\nkeyfile key.pem\nrequire_certificate true', /t\.conf:1: listener 8883: require_certificate needs cafile or capath$/],
    ['listener 8883\ncafile ca.pem\ncertfile cert.pem\nkeyfile key.pem\nuse_identity_as_username true', /use_identity_as_username and use_subject_as_username need require_certificate true$/],
    ['listener 8883\ncafile missing.pem', /t\.conf:2: cafile: cannot read .*missing\.pem \(ENOENT\)$/],
    ['listener 8883\ncapath ca.pem', /t\.conf:2: capath: .*ca\.pem is not a directory$/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseConfig(text, join(dir, 't.conf')), (error: unknown) => error instanceof ConfigError && message.test(error.message), text);
  }
});

test('include_dir reads every *.conf of a directory in name order, and names the included file in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-conf-'));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'conf.d', 'b.conf'), 'max_queued_messages 9\n');
  writeFileSync(join(dir, 'conf.d', 'a.conf'), 'max_queued_messages 8\nsys_interval 5\n');
  writeFileSync(join(dir, 'conf.d', 'ignored.txt'), 'nonsense\n');
  writeFileSync(join(dir, 'main.conf'), 'listener 1883 127.0.0.1\ninclude_dir conf.d\n');
  const options = readConfigFile(join(dir, 'main.conf'));
  assert.equal(options.maxQueuedMessages, 9);
  assert.equal(options.sysInterval, 5);
  writeFileSync(join(dir, 'conf.d', 'c.conf'), '\n\nmax_keepalive soon\n');
  assert.throws(() => readConfigFile(join(dir, 'main.conf')), (error: unknown) => error instanceof ConfigError && error.message === `${join(dir, 'conf.d', 'c.conf')}:3: max_keepalive: expects one integer`);
  writeFileSync(join(dir, 'loop.conf'), 'include_dir .\n');
  assert.throws(() => readConfigFile(join(dir, 'loop.conf')), /include_dir/);
});

test('each kind of mistake is a ConfigError naming file, line and directive', () => {
  const cases: Array<[string, RegExp]> = [
    ['port 70000', /^c\.conf:1: port: must be between 0 and 65535$/],
    ['\nmax_queued_messages', /^c\.conf:2: max_queued_messages: expects one integer$/],
    ['allow_zero_length_clientid maybe', /^c\.conf:1: allow_zero_length_clientid: expects true or false$/],
    ['bind_address', /^c\.conf:1: bind_address: expects one address$/],
    ['listener', /^c\.conf:1: listener: expects a port and an optional bind address \(or port 0 and a unix socket path\)$/],
    ['listener 1883 /tmp/x.sock', /^c\.conf:1: listener: a unix socket path needs port 0/],
    ['nonsense 1', /^c\.conf:1: nonsense: unknown directive$/],
    ['bind_interface nosuch9', /^c\.conf:1: bind_interface: no network interface nosuch9 \(known: .*lo/],
    ['listener 1883\nprotocol http', /^c\.conf:2: protocol: expects one of mqtt, websockets$/],
    ['persistent_client_expiration 3 days', /^c\.conf:1: persistent_client_expiration: expects a duration/],
    ['password_file /nonexistent/passwd', /^c\.conf:1: password_file: cannot read \/nonexistent\/passwd \(ENOENT\)$/],
    ['acl_file /nonexistent/acl', /^c\.conf:1: acl_file: cannot read \/nonexistent\/acl \(ENOENT\)$/],
    ['log_dest dlt', /^c\.conf:1: log_dest: dlt is not supported: use stdout, stderr, file PATH or syslog$/],
    ['log_dest chatty', /^c\.conf:1: log_dest: expects stdout, stderr, file PATH, syslog or none$/],
    ['log_dest file /tmp/a.log\nlog_dest file /tmp/b.log', /^c\.conf:2: log_dest: only one file destination may be configured/],
    ['log_format xml', /^c\.conf:1: log_format: expects one of text, json$/],
    ['log_type chatty', /^c\.conf:1: log_type: expects one of debug, error/],
    ['jwt_algorithms HS256,none', /^c\.conf:1: jwt_algorithms: expects algorithms among .* \(not none\)$/],
    ['http_auth_url ftp://x', /^c\.conf:1: http_auth_url: expects an http:\/\/ or https:\/\/ URL$/],
    ['http_auth_timeout 100', /^c\.conf:1: http_auth_timeout: http_auth_url is not set$/],
    ['jwt_audience mqtt', /^c\.conf:1: jwt_audience: JWT needs jwt_secret/],
    ['slow_consumer maybe', /^c\.conf:1: slow_consumer: expects one of drop, disconnect$/],
    ['listener 1883\nport 1884', /^c\.conf:2: port: port sets the default listener/],
    ['per_listener_settings yes', /^c\.conf:1: per_listener_settings: expects true or false$/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseConfig(text, 'c.conf'), (error: unknown) => error instanceof ConfigError && message.test(error.message), text);
  }
});

test('Mosquitto 2.0 directives: implemented ones become options, zero means no limit as in Mosquitto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-conf-'));
  mkdirSync(join(dir, 'www'));
  const options = parseConfig(
    [
      'max_inflight_messages 0',
      'max_queued_messages 0',
      'max_inflight_bytes 4096',
      'queue_qos0_messages true',
      'upgrade_outgoing_qos true',
      'memory_limit 1000000000',
      'clientid_prefixes dev-',
      'auto_id_prefix gen-',
      'set_tcp_nodelay false',
      'check_retain_source false',
      `pid_file ${join(dir, 'cicada.pid')}`,
      'log_dest stdout',
      'log_dest stderr',
      `log_dest file ${join(dir, 'log')}`,
      'log_dest syslog',
      'log_type all',
      'log_format text',
      'log_timestamp false',
      'log_timestamp_format %Y-%m-%dT%H:%M:%S',
      'log_facility 5',
      'websockets_headers_size 8192',
      'listener 9001 127.0.0.1',
      'protocol websockets',
      'http_dir www',
      'websockets_path /mqtt',
      'max_qos 1',
      'max_topic_alias 5',
      'mount_point tenant/',
      'use_username_as_clientid true',
    ].join('\n'),
    join(dir, 'm.conf'),
  );
  const { listeners, security, ...rest } = options;
  assert.deepEqual(security, { allowAnonymous: false }); // a listener in a configuration file: anonymous refused unless allowed (as Mosquitto 2)
  assert.deepEqual(rest, {
    maxInflightMessages: 0,
    maxQueuedMessages: 0,
    maxInflightBytes: 4096,
    queueQos0Messages: true,
    upgradeOutgoingQos: true,
    memoryLimit: 1_000_000_000,
    clientIdPrefixes: 'dev-',
    autoIdPrefix: 'gen-',
    tcpNoDelay: false,
    pidFile: join(dir, 'cicada.pid'),
    logDest: [{ kind: 'stdout' }, { kind: 'stderr' }, { kind: 'file', path: join(dir, 'log') }, { kind: 'syslog' }],
    logTypes: ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets'],
    logFormat: 'text',
    logTimestamp: false,
    logTimestampFormat: '%Y-%m-%dT%H:%M:%S',
    logFacility: 21,
  });
  assert.deepEqual(listeners, [
    {
      port: 9001,
      host: '127.0.0.1',
      protocol: 'websockets',
      httpDir: join(dir, 'www'),
      websocketsPath: '/mqtt',
      maxQos: 1,
      maxTopicAlias: 5,
      mountPoint: 'tenant/',
      useUsernameAsClientId: true,
      httpHeadersSize: 8192,
    },
  ]);
  // Negative counts mean no limit, as 0 does (Mosquitto accepts -1).
  assert.deepEqual(parseConfig('max_queued_messages -1\nmax_queued_bytes -1\nmax_inflight_bytes -1', 'n.conf'), { maxQueuedMessages: 0, maxQueuedBytes: 0, maxInflightBytes: 0, security: {} });
  // log_type none alone: nothing; bind_interface lo: the loopback address.
  assert.deepEqual(parseConfig('log_type none', 'n.conf').logTypes, []);
  assert.equal(parseConfig('listener 1883\nbind_interface lo', 'i.conf').listeners?.[0]?.host, '127.0.0.1');
});

test('directives that cannot apply, bridges and typos each get their own message', () => {
  const cases: Array<[string, RegExp]> = [
    ['plugin /usr/lib/mosquitto_dynamic_security.so', /^c\.conf:1: plugin: not available in Cicada: Mosquitto plugins are C libraries, which Cicada cannot load: use password_file, acl_file, jwt_\* or http_auth_url/],
    ['auth_plugin /usr/lib/auth.so', /^c\.conf:1: auth_plugin: not available in Cicada: Mosquitto plugins are C libraries/],
    ['plugin_opt_config_file /etc/dynsec.json', /^c\.conf:1: plugin_opt_config_file: not available in Cicada: Mosquitto plugins/],
    ['auth_opt_db mysql', /^c\.conf:1: auth_opt_db: not available in Cicada/],
    ['listener 8883\npsk_hint hint', /^c\.conf:2: psk_hint: not available in Cicada: TLS-PSK listeners are not supported yet/],
    ['listener 8883\ntls_engine pkcs11', /^c\.conf:2: tls_engine: not available in Cicada: OpenSSL engines/],
    ['connection remote-broker', /^c\.conf:1: connection: bridges are not supported yet \(a Mosquitto bridge directive\)$/],
    ['address 10.0.0.1:1883', /^c\.conf:1: address: bridges are not supported yet/],
    ['max_queued_message 10', /^c\.conf:1: max_queued_message: unknown directive \(did you mean max_queued_messages\?\)$/],
    ['allow_anonymus true', /^c\.conf:1: allow_anonymus: unknown directive \(did you mean allow_anonymous\?\)$/],
    ['nonsense 1', /^c\.conf:1: nonsense: unknown directive$/],
    ['check_retain_source true', /^c\.conf:1: check_retain_source: true is not supported/],
    ['max_packet_size 0', /^c\.conf:1: max_packet_size: must be between 20 and 268435460$/],
    ['max_keepalive 9', /^c\.conf:1: max_keepalive: must be between 10 and 65535$/],
    ['persistent_client_expiration 0d', /^c\.conf:1: persistent_client_expiration: expects a duration: a positive number/],
    ['listener 1883\nmount_point a/#', /^c\.conf:2: mount_point: a mount point cannot contain \+ or #$/],
    ['listener 1883\nmax_qos 3', /^c\.conf:2: max_qos: must be between 0 and 2$/],
    ['listener 1883\nwebsockets_path mqtt', /^c\.conf:2: websockets_path: expects a path starting with \/$/],
    ['listener 1883\ntls_keyform engine', /^c\.conf:2: tls_keyform: OpenSSL engines are not available/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseConfig(text, 'c.conf'), (error: unknown) => error instanceof ConfigError && message.test(error.message), text);
  }
});
