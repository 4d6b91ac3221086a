/**
 * The evaluator: walks an expression over a row of columns (a message's or an event's, see
 * columns.ts). A path into `payload` decodes the payload as JSON once per row, within bounds;
 * a payload that is not JSON, a missing key or an index past the end make the path undefined.
 * Comparisons with undefined are false. The only error thrown is RuleEvalError (a function
 * given a wrong argument, arithmetic on non-numbers, a division by zero).
 */
import { topicMatches } from '../topics/index.js';
import type { BinaryOp, Expr, Field, RuleSql, Value } from './ast.js';
import { RuleEvalError } from './errors.js';
import { callFunction, typeName } from './functions.js';
import { decodeJson } from './json.js';

/** The columns a rule sees. `payload` may be given as a Buffer: it is decoded on first use. */
export class Row {
  private text: string | undefined;
  private json: Value;
  private decoded = false;
  /** Names bound by SELECT aliases and FOREACH, seen before the columns. */
  readonly bound = new Map<string, Value>();

  constructor(
    readonly columns: Record<string, Value>,
    private readonly payload: Buffer | undefined,
  ) {}

  get(name: string): Value {
    if (this.bound.has(name)) return this.bound.get(name);
    if (name === 'payload' && this.payload !== undefined) return this.payloadText();
    return this.columns[name];
  }

  /** `payload.x...`: the JSON value of the payload (a string column holding JSON text, too). */
  getForPath(name: string): Value {
    if (name !== 'payload' || this.bound.has(name)) {
      const value = this.get(name);
      return typeof value === 'string' ? decodeJson(value) : value;
    }
    if (!this.decoded) {
      this.decoded = true;
      const value = this.get('payload');
      this.json = typeof value === 'string' ? decodeJson(value) : value;
    }
    return this.json;
  }

  /** Every column name (`SELECT *`). */
  names(): string[] {
    const names = Object.keys(this.columns);
    if (this.payload !== undefined && !names.includes('payload')) names.push('payload');
    return names;
  }

  payloadText(): string {
    this.text ??= (this.payload as Buffer).toString('utf8');
    return this.text;
  }
}

export function evaluate(expr: Expr, row: Row): Value {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'path':
      return expr.steps.length === 0 ? row.get(expr.root) : walk(row.getForPath(expr.root), expr.steps);
    case 'call':
      return callFunction(expr.name, expr.args.map((a) => evaluate(a, row)));
    case 'negate': {
      const value = evaluate(expr.arg, row);
      return value === undefined ? undefined : -number(value, '-');
    }
    case 'not':
      return evaluate(expr.arg, row) !== true;
    case 'in': {
      const value = evaluate(expr.arg, row);
      if (value === undefined) return false;
      const found = expr.list.some((item) => equal(value, evaluate(item, row)));
      return expr.negated ? !found : found;
    }
    case 'case':
      for (const [condition, result] of expr.whens) if (evaluate(condition, row) === true) return evaluate(result, row);
      return expr.otherwise === undefined ? undefined : evaluate(expr.otherwise, row);
    case 'binary':
      return binary(expr.op, expr.left, expr.right, row);
  }
}

function walk(value: Value, steps: Array<string | number>): Value {
  let current = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      current = typeof step === 'number' ? current[step] : undefined;
    } else {
      current = Object.hasOwn(current, step) ? current[step] : undefined;
    }
  }
  return current;
}

function binary(op: Extract<Expr, { kind: 'binary' }>['op'], leftExpr: Expr, rightExpr: Expr, row: Row): Value {
  if (op === 'AND') return evaluate(leftExpr, row) === true && evaluate(rightExpr, row) === true;
  if (op === 'OR') return evaluate(leftExpr, row) === true || evaluate(rightExpr, row) === true;
  const left = evaluate(leftExpr, row);
  const right = evaluate(rightExpr, row);
  switch (op) {
    case '=':
      return left !== undefined && right !== undefined && equal(left, right);
    case '!=':
      return left !== undefined && right !== undefined && !equal(left, right);
    case '<':
      return compare(left, right, (c) => c < 0);
    case '<=':
      return compare(left, right, (c) => c <= 0);
    case '>':
      return compare(left, right, (c) => c > 0);
    case '>=':
      return compare(left, right, (c) => c >= 0);
    case '=~':
      return typeof left === 'string' && typeof right === 'string' && topicMatches(right, left);
    default:
      // Arithmetic on a missing value is missing (as SQL's NULL), not an error.
      return left === undefined || right === undefined ? undefined : arithmetic(op, left, right);
  }
}

function arithmetic(op: BinaryOp, left: Value, right: Value): Value {
  switch (op) {
    case '+':
      if (typeof left === 'string' || typeof right === 'string') return concatenate(left, right);
      return number(left, '+') + number(right, '+');
    case '-':
      return number(left, '-') - number(right, '-');
    case '*':
      return number(left, '*') * number(right, '*');
    default:
      return divide(op, number(left, op), number(right, op));
  }
}

function divide(op: string, left: number, right: number): number {
  if (right === 0) throw new RuleEvalError(`division by zero (${op})`);
  if (op === '/') return left / right;
  if (op === 'DIV') return Math.trunc(left / right);
  return left % right;
}

function concatenate(left: Value, right: Value): string {
  const ok = (v: Value): v is string | number => typeof v === 'string' || typeof v === 'number';
  if (!ok(left) || !ok(right)) throw new RuleEvalError(`+ joins strings and numbers, not ${typeName(left)} and ${typeName(right)}`);
  return String(left) + String(right);
}

/** A number, or a string holding one (payload values often arrive as text). */
function asNumber(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function number(v: Value, op: string): number {
  const n = typeof v === 'number' ? v : undefined;
  if (n === undefined) throw new RuleEvalError(`${op} expects numbers, got ${typeName(v)}`);
  return n;
}

function equal(left: Value, right: Value): boolean {
  if (typeof left === 'number' || typeof right === 'number') {
    const a = asNumber(left);
    return a !== undefined && a === asNumber(right);
  }
  if (left === null || right === null || typeof left !== 'object' || typeof right !== 'object') return left === right;
  return JSON.stringify(left) === JSON.stringify(right);
}

function compare(left: Value, right: Value, test: (c: number) => boolean): boolean {
  if (typeof left === 'string' && typeof right === 'string') return test(left < right ? -1 : left > right ? 1 : 0);
  const a = asNumber(left);
  const b = asNumber(right);
  if (a === undefined || b === undefined || (typeof left !== 'number' && typeof right !== 'number')) return false;
  return test(a - b);
}

// ---- statements ------------------------------------------------------------------------

/**
 * Run a rule's SQL on a row: the output rows (none when WHERE is not true; one for SELECT;
 * one per element that passes INCASE for FOREACH).
 */
export function runSql(sql: RuleSql, row: Row): Array<Record<string, Value>> {
  if (sql.foreach === undefined) {
    const output = project(sql.fields, row);
    if (sql.where !== undefined && evaluate(sql.where, row) !== true) return [];
    return [output];
  }
  if (sql.where !== undefined && evaluate(sql.where, row) !== true) return [];
  const items = evaluate(sql.foreach.expr, row);
  if (!Array.isArray(items)) return [];
  const rows: Array<Record<string, Value>> = [];
  const { alias, fields, incase } = sql.foreach;
  for (const item of items) {
    row.bound.clear();
    row.bound.set(alias, item);
    if (incase !== undefined && evaluate(incase, row) !== true) continue;
    rows.push(fields.length === 0 ? { [alias]: item } : project(fields, row));
  }
  return rows;
}

/** SELECT's output; each alias is bound at once, so later fields and WHERE may use it. */
function project(fields: Field[], row: Row): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const field of fields) {
    if (field.kind === 'all') {
      for (const key of row.names()) out[key] = row.get(key);
      continue;
    }
    const value = evaluate(field.expr, row);
    setPath(out, field.name, value);
    if (field.name.length === 1) row.bound.set(field.name[0] as string, value);
  }
  return out;
}

function setPath(out: Record<string, Value>, path: string[], value: Value): void {
  let target = out;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const next = target[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) target[key] = {};
    target = target[key] as Record<string, Value>;
  }
  target[path[path.length - 1] as string] = value;
}
