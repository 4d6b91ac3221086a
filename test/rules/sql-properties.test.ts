/**
 * Properties of the rule SQL with fast-check (seed from CICADA_TEST_SEED, printed by the test
 * runner; replay with CICADA_TEST_SEED=N): the parser throws nothing but RuleSyntaxError, and
 * evaluation throws nothing but RuleEvalError, whatever the SQL and whatever the payload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRuleSql } from '../../src/rules/parser.js';
import { Row, runSql } from '../../src/rules/evaluate.js';
import { RuleEvalError, RuleSyntaxError } from '../../src/rules/errors.js';
import { messageColumns } from '../../src/rules/columns.js';
import { compileTemplate, render } from '../../src/rules/template.js';
import { FUNCTION_NAMES } from '../../src/rules/functions.js';
import type { RuleSql } from '../../src/rules/ast.js';

const WORDS = [
  'SELECT', 'FROM', 'WHERE', 'FOREACH', 'DO', 'INCASE', 'AS', 'AND', 'OR', 'NOT', 'IN', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'DIV', 'MOD', 'true', 'null', '*', ',', '.', '(', ')', '[', ']', '=', '!=', '<>', '<', '>=', '=~', '+', '-', '/',
  'payload', 'payload.a', 'payload.a.b[0]', 'payload.list', 'topic', 'clientid', 'qos', 'item', 'x', '0', '1', '2.5', '-3', '1e400',
  "'s'", "'30'", '"t/#"', '"a/+/c"', '"$events/client_connected"', '"bad/#/f"', '`q`', "'", '"',
  ...FUNCTION_NAMES.map((f) => `${f}(`),
];

const tokenSoup = fc.array(fc.constantFrom(...WORDS), { maxLength: 30 }).map((words) => words.join(' '));
/** Statements more likely to parse: a valid frame around random expressions. */
const expressionSoup = fc.array(fc.constantFrom(...WORDS.filter((w) => !['SELECT', 'FROM', 'WHERE', 'FOREACH'].includes(w))), { minLength: 1, maxLength: 12 }).map((w) => w.join(' '));
const framed = fc.tuple(expressionSoup, expressionSoup, fc.boolean()).map(([a, b, each]) => (each ? `FOREACH ${a} DO ${b} FROM "#"` : `SELECT ${a} FROM "#" WHERE ${b}`));

/** Well-formed expressions from the grammar, so most statements parse and get evaluated. */
const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('payload', 'payload.a', 'payload.a.b[0]', 'payload.list', 'payload.s', 'topic', 'qos', 'item', '1', '0', '-2.5', "'x'", "'5'", 'null', 'true'),
    fc.tuple(tie('expr'), fc.constantFrom('=', '!=', '<', '>=', '=~', '+', '-', '*', '/', 'DIV', 'MOD', 'AND', 'OR'), tie('expr')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom(...FUNCTION_NAMES), fc.array(tie('expr'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    tie('expr').map((a) => `NOT ${a}`),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([a, b, c]) => `${a} IN (${b}, ${c})`),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([a, b, c]) => `CASE WHEN ${a} THEN ${b} ELSE ${c} END`),
  ),
}));
const grammatical = fc.tuple(expr, expr, expr, fc.boolean()).map(([a, b, c, each]) => (each ? `FOREACH ${a} AS item DO ${b} AS o INCASE ${c} FROM "#"` : `SELECT ${a} AS o, ${b} FROM "#" WHERE ${c}`));

function parses(sql: string): RuleSql | undefined {
  try {
    return parseRuleSql(sql);
  } catch (error) {
    if (error instanceof RuleSyntaxError) {
      assert.ok(error.column >= 1 && error.column <= sql.length + 1, `column ${error.column} outside ${JSON.stringify(sql)}`);
      return undefined;
    }
    throw error;
  }
}

const payloads = fc.oneof(
  fc.json({ depthSize: 'medium' }),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify({ a: v, list: [v, v], s: '5' })),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.integer({ min: 1, max: 3000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 3000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
);

function evaluates(sql: RuleSql, payload: string): void {
  const columns = messageColumns({ topic: 'a/b/c', payload: Buffer.alloc(0), qos: 0, retain: false, clientid: 'c', timestamp: 1 });
  try {
    runSql(sql, new Row(columns, Buffer.from(payload, 'latin1')));
  } catch (error) {
    if (!(error instanceof RuleEvalError)) throw error;
  }
}

void test('the parser throws only RuleSyntaxError, with a column inside the text (random text and token soups)', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 60 }), tokenSoup, framed), (sql) => void parses(sql)), { numRuns: 2000 });
});

void test('evaluation throws only RuleEvalError, for random statements on random payloads (non-JSON, nested, huge)', () => {
  fc.assert(
    fc.property(fc.oneof(framed, grammatical, grammatical), payloads, (text, payload) => {
      const sql = parses(text);
      if (sql !== undefined) evaluates(sql, payload);
    }),
    { numRuns: 3000 },
  );
});

void test('fixed rules on random payloads: never an error other than RuleEvalError', () => {
  const rules = [
    'SELECT payload.a AS a, payload.a.b[0] AS b, payload.list[1] AS l FROM "#" WHERE payload.a > 1 OR payload.s = 5',
    'SELECT json_encode(payload) AS j, str(payload.a) AS s, length(payload.list) AS n FROM "#"',
    'FOREACH payload.list AS e DO e.a AS a, e AS whole INCASE e.a != 0 FROM "#"',
    'SELECT * FROM "#" WHERE payload.a IN (1, \'x\', null) AND NOT topic =~ \'x/#\'',
  ].map((text) => parseRuleSql(text));
  fc.assert(fc.property(payloads, (payload) => rules.forEach((sql) => evaluates(sql, payload))), { numRuns: 2000 });
});

void test('templates: compile throws only RuleSyntaxError; rendering never throws', () => {
  const pieces = fc.array(fc.constantFrom('${', '}', 'a', '${clientid}', '${payload.a[0]}', '${x.y}', '${1}', '${lower(a)}', ' ', '$', '{'), { maxLength: 12 }).map((p) => p.join(''));
  fc.assert(
    fc.property(pieces, fc.jsonValue({ maxDepth: 4 }), (text, value) => {
      let template;
      try {
        template = compileTemplate(text);
      } catch (error) {
        if (error instanceof RuleSyntaxError) return;
        throw error;
      }
      assert.equal(typeof render(template, { clientid: 'c', payload: JSON.stringify({ a: [value] }), x: { y: value as never } }), 'string');
    }),
    { numRuns: 2000 },
  );
});
