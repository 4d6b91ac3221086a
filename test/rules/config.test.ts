/**
 * The rule engine's directives: the grammar, and errors at file:line:column for bad SQL,
 * templates, sinks and options (the broker does not start).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/config-file.js';

function refused(text: string): string {
  try {
    parseConfig(text, '/etc/cicada/rules.conf');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('accepted');
}

void test('the directives collect sinks and rules (sql and actions after their rule line)', () => {
  const options = parseConfig(
    [
      'sink hook webhook http://127.0.0.1:9/x batch_size=10 header.x-device=${clientid}',
      'rule r1',
      'sql SELECT * FROM "a/#"',
      'action republish b/${topic} 1',
      'action hook "{\\"t\\": \\"${topic}\\"}"',
      'rule r2',
      '  sql   FOREACH payload.l FROM "c/#"',
      'action hook',
      '',
    ].join('\n'),
    '/etc/cicada/rules.conf',
  );
  assert.deepEqual(options.rules, {
    sinks: [{ name: 'hook', type: 'webhook', text: 'http://127.0.0.1:9/x batch_size=10 header.x-device=${clientid}', at: '/etc/cicada/rules.conf:1', column: 19 }],
    rules: [
      {
        name: 'r1',
        at: '/etc/cicada/rules.conf:2',
        sql: { text: 'SELECT * FROM "a/#"', at: '/etc/cicada/rules.conf:3', column: 5 },
        actions: [
          { text: 'republish b/${topic} 1', at: '/etc/cicada/rules.conf:4', column: 8 },
          { text: 'hook "{\\"t\\": \\"${topic}\\"}"', at: '/etc/cicada/rules.conf:5', column: 8 },
        ],
      },
      { name: 'r2', at: '/etc/cicada/rules.conf:6', sql: { text: 'FOREACH payload.l FROM "c/#"', at: '/etc/cicada/rules.conf:7', column: 9 }, actions: [{ text: 'hook', at: '/etc/cicada/rules.conf:8', column: 8 }] },
    ],
  });
});

void test('errors name file:line:column', () => {
  const cases: Array<[string[], RegExp]> = [
    // Column 29 of line 2 is where WHERE's expression ends (the SQL starts at column 5).
    [['rule r', 'sql SELECT a FROM "t/#" WHERE', 'action republish x'], /^\/etc\/cicada\/rules\.conf:2:30: rule r: sql: unexpected end of the expression$/],
    [['rule r', 'sql SELECT nope(1) FROM "t"', 'action republish x'], /rules\.conf:2:12: rule r: sql: unknown function nope\(\)/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish out/${a.}'], /rules\.conf:3:26: rule r: action: in \$\{a\.\}: expects a key after "\."/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish out/${lower(a)}'], /rules\.conf:3:24: rule r: action: \$\{\.\.\.\} holds a name/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish out/# 1'], /rules\.conf:3:18: rule r: action: invalid topic name "out\/#"/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish out 3'], /rules\.conf:3:22: rule r: action: QoS is 0, 1 or 2/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish out qos=1 colour=red'], /rules\.conf:3:28: rule r: action: unknown option "colour=red"/],
    [['rule r', 'sql SELECT a FROM "t"', 'action pg "x"'], /rules\.conf:3:8: rule r: action: unknown action "pg"/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish "out'], /rules\.conf:3:18: rule r: action: unterminated "/],
    [['sink s webhook ftp://x'], /rules\.conf:1:16: sink s: a webhook URL starts with http/],
    [['sink s carrier-pigeon http://x'], /rules\.conf:1:\d+: sink s: unknown sink type "carrier-pigeon"/],
    [['sink s webhook http://x batch_size=0'], /rules\.conf:1:36: sink s: batch_size is a whole number from 1 to 10000/],
    [['sql SELECT a FROM "t"'], /rules\.conf:1: sql: belongs to a rule/],
    [['rule r', 'action republish x'], /rules\.conf:1: rule r has no sql line/],
    [['rule r', 'sql SELECT a FROM "t"'], /rules\.conf:1: rule r has no action/],
    [['rule r', 'sql SELECT a FROM "t"', 'sql SELECT b FROM "t"'], /rules\.conf:3: sql: rule r already has its sql/],
    [['rule bad/name'], /rules\.conf:1: rule: expects a rule name/],
    [['rule r', 'sql SELECT a FROM "t"', 'action republish x', 'rule r', 'sql SELECT a FROM "t"', 'action republish x'], /rules\.conf:4: rule r declared twice/],
  ];
  for (const [lines, expected] of cases) assert.match(refused(`${lines.join('\n')}\n`), expected, lines.join(' | '));
});
