/**
 * The rule SQL: parser (errors at a column) and evaluator (paths, functions, FOREACH), by plain
 * calls. Properties (random SQL and payloads) are in sql-properties.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleSql } from '../../src/rules/parser.js';
import { Row, runSql } from '../../src/rules/evaluate.js';
import { RuleEvalError, RuleSyntaxError } from '../../src/rules/errors.js';
import { messageColumns } from '../../src/rules/columns.js';
import { MAX_JSON_BYTES, MAX_JSON_DEPTH } from '../../src/rules/json.js';
import type { Value } from '../../src/rules/ast.js';

function run(sql: string, payload: string | Buffer, topic = 'sensors/dev1/temp', extra: Record<string, Value> = {}): Array<Record<string, Value>> {
  const columns = { ...messageColumns({ topic, payload: Buffer.alloc(0), qos: 1, retain: false, clientid: 'dev1', username: 'u', timestamp: 1700000000000 }), ...extra };
  return runSql(parseRuleSql(sql), new Row(columns, Buffer.isBuffer(payload) ? payload : Buffer.from(payload)));
}

function one(sql: string, payload: string | Buffer = '{}'): Record<string, Value> | undefined {
  const rows = run(sql, payload);
  assert.ok(rows.length <= 1);
  return rows[0];
}

function syntaxError(sql: string): RuleSyntaxError {
  try {
    parseRuleSql(sql);
  } catch (error) {
    assert.ok(error instanceof RuleSyntaxError, `expected RuleSyntaxError, got ${String(error)}`);
    return error;
  }
  assert.fail(`parsed: ${sql}`);
}

void test('SELECT with aliases, paths, FROM a filter and WHERE on an alias', () => {
  const sql = 'SELECT payload.temp AS temp, clientid, topic FROM "sensors/+/temp" WHERE temp > 30';
  assert.deepEqual(run(sql, '{"temp": 31.5}'), [{ temp: 31.5, clientid: 'dev1', topic: 'sensors/dev1/temp' }]);
  assert.deepEqual(run(sql, '{"temp": 30}'), []);
});

void test('parse: FROM lists topic filters and events', () => {
  const parsed = parseRuleSql('SELECT * FROM "a/#", "$events/client_connected", "b/+/c"');
  assert.deepEqual(
    parsed.from.map((s) => (s.kind === 'topic' ? s.filter : s.event)),
    ['a/#', 'client_connected', 'b/+/c'],
  );
  assert.deepEqual(parsed.fields, [{ kind: 'all' }]);
});

void test('SELECT * gives every column, payload as text', () => {
  const row = one('SELECT * FROM "#"', 'hello');
  assert.equal(row?.payload, 'hello');
  assert.equal(row?.clientid, 'dev1');
  assert.equal(row?.qos, 1);
});

void test('an unaliased path nests its output; a dotted alias too', () => {
  assert.deepEqual(one('SELECT payload.a.b, payload.a.b AS x.y FROM "#"', '{"a":{"b":2}}'), { payload: { a: { b: 2 } }, x: { y: 2 } });
});

void test('paths: keys, 0-based indexes, quoted keys; missing parts are undefined', () => {
  const payload = '{"a":{"b":[10,20,{"c":"x"}]},"odd key":1}';
  assert.deepEqual(one('SELECT payload.a.b[0] AS first, payload.a.b[2].c AS c, payload["odd key"] AS odd, payload.a.b[9] AS none, payload.z.y AS deep FROM "#"', payload), {
    first: 10,
    c: 'x',
    odd: 1,
    none: undefined,
    deep: undefined,
  });
});

void test('a payload that is not JSON makes paths undefined, never an error', () => {
  assert.deepEqual(one('SELECT payload.temp AS t FROM "#"', 'not json {'), { t: undefined });
  assert.deepEqual(one('SELECT payload.temp AS t FROM "#"', Buffer.from([0xff, 0xfe, 0x00, 0x7b])), { t: undefined });
  assert.deepEqual(run('SELECT 1 AS one FROM "#" WHERE payload.temp > 3', 'oops'), []);
});

void test('huge and deeply nested payloads are not decoded (paths undefined)', () => {
  const huge = `{"a":1,"pad":"${'x'.repeat(MAX_JSON_BYTES)}"}`;
  assert.deepEqual(one('SELECT payload.a AS a FROM "#"', huge), { a: undefined });
  const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
  assert.deepEqual(one('SELECT payload[0] AS a FROM "#"', deep), { a: undefined });
  const deepest = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.deepEqual(one('SELECT payload[0] AS a FROM "#"', deepest), { a: undefined });
  const allowed = '['.repeat(MAX_JSON_DEPTH) + '7' + ']'.repeat(MAX_JSON_DEPTH);
  assert.ok(Array.isArray(one('SELECT payload[0] AS a FROM "#"', allowed)?.a));
});

void test('WHERE: comparisons, AND/OR/NOT, IN, NOT IN, =~ topic match, strings compared as numbers to numbers', () => {
  const cases: Array<[string, boolean]> = [
    ['payload.t = 5', true],
    ['payload.t <> 5', false],
    ['payload.t != 6', true],
    ['payload.s = \'5\'', true],
    ['payload.s = 5', true],
    ['payload.t >= 5 AND payload.t <= 5', true],
    ['payload.t < 5 OR payload.name = \'kit\'', true],
    ['NOT payload.t = 5', false],
    ['payload.t IN (1, 5, 9)', true],
    ['payload.t NOT IN (1, 9)', true],
    ['payload.name IN (\'a\', \'b\')', false],
    ['topic =~ \'sensors/+/temp\'', true],
    ['topic =~ \'sensors/#\'', true],
    ['topic =~ \'other/#\'', false],
    ['payload.missing = 1', false],
    ['payload.missing != 1', false],
    ['payload.missing < 1', false],
    ['payload.name > \'kia\'', true],
    ['(payload.t + 1) * 2 = 12', true],
    ['payload.t DIV 2 = 2 AND payload.t MOD 2 = 1', true],
    ['-payload.t = -5', true],
    ['CASE WHEN payload.t > 3 THEN \'hot\' ELSE \'cold\' END = \'hot\'', true],
    ['is_null(payload.missing) AND is_not_null(payload.t)', true],
  ];
  for (const [where, expected] of cases) {
    const rows = run(`SELECT 1 AS x FROM "#" WHERE ${where}`, '{"t":5,"s":"5","name":"kit"}');
    assert.equal(rows.length === 1, expected, where);
  }
});

void test('keywords and function names are case-insensitive', () => {
  assert.deepEqual(one('select UPPER(payload.n) as n from "#" where payload.n = \'a\'', '{"n":"a"}'), { n: 'A' });
});

void test('functions: strings, math, types, time, hashing, encodings, JSON, topic levels', () => {
  const row = one(
    `SELECT lower('AbC') AS lower, upper('a') AS upper, trim('  x ') AS trim, concat('a', 1, true) AS concat,
       substr('hello', 1, 3) AS substr, split('a/b//c', '/') AS split, replace('a-b-c', '-', '+') AS replace,
       strlen('héllo') AS strlen, reverse('abc') AS reverse, find('hello', 'll') AS find,
       abs(-2) AS abs, round(2.5) AS round, floor(2.7) AS floor, ceil(2.1) AS ceil, power(2, 10) AS power, sqrt(9) AS sqrt,
       max(1, 7, 3) AS max, min(4, 2) AS min,
       int('42') AS int, float('2.5') AS float, bool('true') AS bool, str(12) AS str, is_num(1) AS isnum,
       unix_ts_to_rfc3339(0, 'second') AS rfc, rfc3339_to_unix_ts('1970-01-01T00:00:10Z', 'second') AS ts,
       md5('abc') AS md5, sha256('abc') AS sha256, sha('abc') AS sha,
       base64_encode('hi') AS b64, base64_decode('aGk=') AS unb64, hex_encode('hi') AS hex, hex_decode('6869') AS unhex,
       json_encode(payload.o) AS json, json_decode('{"k":[1]}') AS obj, json_decode('nope') AS bad,
       topic_level(topic, 2) AS level, nth(1, split(topic, '/')) AS first, length(split(topic, '/')) AS levels,
       contains(2, payload.list) AS contains, coalesce(payload.none, 'dflt') AS dflt
     FROM "#"`,
    '{"o":{"a":1},"list":[1,2]}',
  );
  assert.deepEqual(row, {
    lower: 'abc', upper: 'A', trim: 'x', concat: 'a1true', substr: 'ell', split: ['a', 'b', 'c'], replace: 'a+b+c',
    strlen: 5, reverse: 'cba', find: 2, abs: 2, round: 3, floor: 2, ceil: 3, power: 1024, sqrt: 3, max: 7, min: 2,
    int: 42, float: 2.5, bool: true, str: '12', isnum: true, rfc: '1970-01-01T00:00:00.000Z', ts: 10,
    md5: '900150983cd24fb0d6963f7d28e17f72', sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    sha: 'a9993e364706816aba3e25717850c26c9cd0d89d',
    b64: 'aGk=', unb64: 'hi', hex: '6869', unhex: 'hi', json: '{"a":1}', obj: { k: [1] }, bad: undefined,
    level: 'dev1', first: 'sensors', levels: 3, contains: true, dflt: 'dflt',
  });
  const now = one('SELECT now_timestamp() AS ms, now_timestamp(\'second\') AS s FROM "#"');
  assert.ok(typeof now?.ms === 'number' && Math.abs(now.ms - Date.now()) < 60_000);
  assert.ok(typeof now?.s === 'number' && Math.abs(now.s * 1000 - Date.now()) < 60_000);
});

void test('a function given a wrong argument fails the rule with RuleEvalError (not another error)', () => {
  for (const expr of ['lower(1)', 'hex_decode(\'zz\')', '1 / 0', 'payload.o + 1', 'int(\'x\')', 'power(10, 400)', 'bool(\'maybe\')']) {
    assert.throws(() => run(`SELECT ${expr} AS x FROM "#"`, '{"o":{}}'), RuleEvalError, expr);
  }
});

void test('FOREACH (EMQX form): DO, INCASE, AS, and WHERE before the iteration', () => {
  const sql = 'FOREACH payload.sensors AS s DO s.name AS name, s.v * 2 AS double, clientid INCASE s.v > 1 FROM "t/#" WHERE payload.site = \'x\'';
  const payload = '{"site":"x","sensors":[{"name":"a","v":1},{"name":"b","v":2},{"name":"c","v":3}]}';
  assert.deepEqual(run(sql, payload, 't/1'), [
    { name: 'b', double: 4, clientid: 'dev1' },
    { name: 'c', double: 6, clientid: 'dev1' },
  ]);
  assert.deepEqual(run(sql, payload.replace('"x"', '"y"'), 't/1'), []);
  // Without DO each element comes under its alias (default `item`); not an array: no rows.
  assert.deepEqual(run('FOREACH payload.l FROM "#"', '{"l":[1,2]}'), [{ item: 1 }, { item: 2 }]);
  assert.deepEqual(run('FOREACH payload.l FROM "#"', '{"l":7}'), []);
});

void test('parse errors name the column', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['SELECT a FROM "t/#" WHERE', 26, /unexpected end of the expression/],
    ['SELEC a FROM "t"', 1, /SELECT or FOREACH/],
    ['SELECT a FROM t', 15, /double quotes/],
    ['SELECT a FROM "a/#/b"', 15, /invalid topic filter/],
    ['SELECT a FROM "$events/nope"', 15, /unknown event/],
    ['SELECT nofun(1) FROM "t"', 8, /unknown function nofun/],
    ['SELECT lower(1, 2) FROM "t"', 8, /takes 1 argument/],
    ['SELECT \'abc FROM "t"', 8, /unterminated string/],
    ['SELECT a FROM "t" WHERE a = 1 1', 31, /unexpected "1"/],
    ['SELECT a # b FROM "t"', 10, /unexpected character/],
    ['SELECT a FROM "t" WHERE a IN 1', 30, /expects "\("/],
    ['SELECT payload.[0] FROM "t"', 16, /expects a key/],
    ['SELECT 1x FROM "t"', 8, /bad number/],
  ];
  for (const [sql, column, reason] of cases) {
    const error = syntaxError(sql);
    assert.equal(error.column, column, `${sql}: ${error.message}`);
    assert.match(error.reason, reason, sql);
  }
});

void test('nesting is bounded: a deep expression is a syntax error, not a stack overflow', () => {
  const error = syntaxError(`SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)} FROM "t"`);
  assert.match(error.reason, /nested more than/);
  assert.match(syntaxError(`SELECT ${'NOT '.repeat(10_000)}true FROM "t"`).reason, /nested more than/);
  assert.match(syntaxError(`SELECT ${'-'.repeat(10_000)}1 FROM "t"`).reason, /nested more than/);
});

void test('functions and arithmetic given a missing value answer undefined (as SQL NULL), not a failure', () => {
  assert.deepEqual(one('SELECT lower(payload.x) AS a, payload.x + 1 AS b, -payload.x AS c, concat(\'a\', payload.x) AS d, is_null(payload.x) AS e FROM "#"', 'not json'), {
    a: undefined,
    b: undefined,
    c: undefined,
    d: 'a',
    e: true,
  });
});
