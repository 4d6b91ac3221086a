import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/config-file.js';

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
    ].join('\n'),
    'x.conf',
  );
  assert.deepEqual(options, {
    port: 1884,
    host: '0.0.0.0',
    maxInflightMessages: 5,
    maxQueuedMessages: 7,
    maxPacketSize: 1024,
    maxKeepalive: 120,
    sysInterval: 3,
    allowZeroLengthClientId: false,
    connectTimeoutMs: 4000,
  });
});

test('each kind of mistake is a ConfigError naming file, line and directive', () => {
  const cases: Array<[string, RegExp]> = [
    ['port 70000', /^c\.conf:1: port: must be between 0 and 65535$/],
    ['\nmax_queued_messages', /^c\.conf:2: max_queued_messages: expects one integer$/],
    ['allow_zero_length_clientid maybe', /^c\.conf:1: allow_zero_length_clientid: expects true or false$/],
    ['bind_address', /^c\.conf:1: bind_address: expects one address$/],
    ['listener', /^c\.conf:1: listener: expects a port and an optional bind address$/],
    ['nonsense 1', /^c\.conf:1: nonsense: unknown directive$/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseConfig(text, 'c.conf'), (error: unknown) => error instanceof ConfigError && message.test(error.message), text);
  }
});
