/**
 * The function library of the rule SQL (names as in EMQX where EMQX has the function): strings,
 * math, type tests and conversions, time, hashing, base64/hex, JSON, topic levels and arrays.
 * Each function has an arity checked at parse time; a wrong argument at run time is a
 * RuleEvalError (the rule fails for that message). Nothing here can allocate without bound
 * from a small input (no repeat/pad, no user regular expressions).
 */
import { createHash } from 'node:crypto';
import type { Value } from './ast.js';
import { RuleEvalError } from './errors.js';
import { decodeJson, encodeJson } from './json.js';

type Fn = (args: Value[]) => Value;
interface Spec {
  min: number;
  max: number;
  fn: Fn;
  /** Called even when an argument is undefined (the others answer undefined, as SQL's NULL). */
  takesUndefined?: boolean;
}

function str(v: Value, name: string): string {
  if (typeof v === 'string') return v;
  throw new RuleEvalError(`${name}() expects a string, got ${typeName(v)}`);
}

function num(v: Value, name: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new RuleEvalError(`${name}() expects a number, got ${typeName(v)}`);
}

function finite(n: number, name: string): number {
  if (!Number.isFinite(n)) throw new RuleEvalError(`${name}() has no finite result`);
  return n;
}

export function typeName(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** A value as text: strings as they are, everything else as JSON. */
export function toText(v: Value): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return encodeJson(v);
}

const math = (name: string, f: (x: number) => number): Spec => ({ min: 1, max: 1, fn: ([x]) => finite(f(num(x, name)), name) });
const text = (name: string, f: (s: string) => Value): Spec => ({ min: 1, max: 1, fn: ([s]) => f(str(s, name)) });
const test = (f: (v: Value) => boolean): Spec => ({ min: 1, max: 1, fn: ([v]) => f(v), takesUndefined: true });
const hash = (algorithm: string): Spec => ({ min: 1, max: 1, fn: ([v]) => createHash(algorithm).update(toText(v)).digest('hex') });

function timeUnit(v: Value, name: string): number {
  if (v === undefined || v === 'millisecond') return 1;
  if (v === 'second') return 1000;
  throw new RuleEvalError(`${name}() unit is 'second' or 'millisecond'`);
}

function toRfc3339(args: Value[], name: string): string {
  const ms = num(args[0], name) * timeUnit(args[1], name);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RuleEvalError(`${name}() timestamp out of range`);
  return date.toISOString();
}

function fromRfc3339(args: Value[]): number {
  const ms = Date.parse(str(args[0], 'rfc3339_to_unix_ts'));
  if (Number.isNaN(ms)) throw new RuleEvalError('rfc3339_to_unix_ts() expects an RFC 3339 date');
  return Math.floor(ms / timeUnit(args[1], 'rfc3339_to_unix_ts'));
}

function nth(n: Value, list: Value, name: string): Value {
  const i = num(n, name);
  if (!Array.isArray(list)) throw new RuleEvalError(`${name}() expects an array`);
  // 1-based, as EMQX's nth; 0 or beyond the end is undefined.
  return Number.isInteger(i) && i >= 1 ? list[i - 1] : undefined;
}

function toInt(v: Value): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return Math.trunc(num(v, 'int'));
}

function toBool(v: Value): boolean {
  if (v === true || v === 'true' || v === 1) return true;
  if (v === false || v === 'false' || v === 0) return false;
  throw new RuleEvalError(`bool() cannot convert ${typeName(v)}`);
}

function hexDecode(s: string): string {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new RuleEvalError('hex_decode() expects an even number of hex digits');
  return Buffer.from(s, 'hex').toString('utf8');
}

function substr(args: Value[]): string {
  const s = str(args[0], 'substr');
  const start = num(args[1], 'substr');
  return args[2] === undefined ? s.slice(start) : s.slice(start, start + num(args[2], 'substr'));
}

function length(v: Value): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  throw new RuleEvalError(`length() expects a string or an array, got ${typeName(v)}`);
}

const FUNCTIONS: Record<string, Spec> = {
  // Strings.
  lower: text('lower', (s) => s.toLowerCase()),
  upper: text('upper', (s) => s.toUpperCase()),
  trim: text('trim', (s) => s.trim()),
  ltrim: text('ltrim', (s) => s.trimStart()),
  rtrim: text('rtrim', (s) => s.trimEnd()),
  reverse: text('reverse', (s) => [...s].reverse().join('')),
  strlen: text('strlen', (s) => s.length),
  substr: { min: 2, max: 3, fn: substr },
  concat: { min: 1, max: 64, fn: (args) => args.map(toText).join(''), takesUndefined: true },
  split: { min: 2, max: 2, fn: ([s, sep]) => str(s, 'split').split(str(sep, 'split')).filter((part) => part !== '') },
  replace: { min: 3, max: 3, fn: ([s, from, to]) => str(s, 'replace').split(str(from, 'replace')).join(str(to, 'replace')) },
  find: { min: 2, max: 2, fn: ([s, sub]) => str(s, 'find').indexOf(str(sub, 'find')) },
  str: { min: 1, max: 1, fn: ([v]) => toText(v), takesUndefined: true },
  // Math.
  abs: math('abs', Math.abs),
  ceil: math('ceil', Math.ceil),
  floor: math('floor', Math.floor),
  round: math('round', Math.round),
  sqrt: math('sqrt', Math.sqrt),
  exp: math('exp', Math.exp),
  log: math('log', Math.log),
  log10: math('log10', Math.log10),
  log2: math('log2', Math.log2),
  sin: math('sin', Math.sin),
  cos: math('cos', Math.cos),
  tan: math('tan', Math.tan),
  power: { min: 2, max: 2, fn: ([x, y]) => finite(num(x, 'power') ** num(y, 'power'), 'power') },
  max: { min: 1, max: 64, fn: (args) => Math.max(...args.map((a) => num(a, 'max'))) },
  min: { min: 1, max: 64, fn: (args) => Math.min(...args.map((a) => num(a, 'min'))) },
  // Types.
  int: { min: 1, max: 1, fn: ([v]) => toInt(v) },
  float: { min: 1, max: 1, fn: ([v]) => num(v, 'float') },
  bool: { min: 1, max: 1, fn: ([v]) => toBool(v) },
  is_null: test((v) => v === null || v === undefined),
  is_not_null: test((v) => v !== null && v !== undefined),
  is_num: test((v) => typeof v === 'number'),
  is_str: test((v) => typeof v === 'string'),
  is_bool: test((v) => typeof v === 'boolean'),
  is_map: test((v) => typeName(v) === 'object'),
  is_array: test((v) => Array.isArray(v)),
  coalesce: { min: 1, max: 64, fn: (args) => args.find((a) => a !== null && a !== undefined), takesUndefined: true },
  // Time.
  now_timestamp: { min: 0, max: 1, fn: ([unit]) => Math.floor(Date.now() / timeUnit(unit, 'now_timestamp')) },
  now_rfc3339: { min: 0, max: 0, fn: () => new Date().toISOString() },
  unix_ts_to_rfc3339: { min: 1, max: 2, fn: (args) => toRfc3339(args, 'unix_ts_to_rfc3339') },
  rfc3339_to_unix_ts: { min: 1, max: 2, fn: fromRfc3339 },
  // Hashing and encodings.
  md5: hash('md5'),
  sha: hash('sha1'),
  sha256: hash('sha256'),
  base64_encode: { min: 1, max: 1, fn: ([v]) => Buffer.from(toText(v)).toString('base64') },
  base64_decode: text('base64_decode', (s) => Buffer.from(s, 'base64').toString('utf8')),
  hex_encode: { min: 1, max: 1, fn: ([v]) => Buffer.from(toText(v)).toString('hex') },
  hex_decode: text('hex_decode', hexDecode),
  // JSON.
  json_encode: { min: 1, max: 1, fn: ([v]) => encodeJson(v), takesUndefined: true },
  json_decode: text('json_decode', decodeJson),
  // Topics and arrays.
  topic_level: { min: 2, max: 2, fn: ([topic, n]) => nth(n, str(topic, 'topic_level').split('/'), 'topic_level') },
  nth: { min: 2, max: 2, fn: ([n, list]) => nth(n, list, 'nth') },
  length: { min: 1, max: 1, fn: ([v]) => length(v) },
  contains: { min: 2, max: 2, fn: ([item, list]) => Array.isArray(list) && list.some((v) => v === item), takesUndefined: true },
  array: { min: 0, max: 1024, fn: (args) => args, takesUndefined: true },
};

/** Why a call cannot be made (unknown function, wrong number of arguments), or undefined. */
export function checkCall(name: string, arity: number): string | undefined {
  const spec = FUNCTIONS[name.toLowerCase()];
  if (spec === undefined) return `unknown function ${name}()`;
  if (arity < spec.min || arity > spec.max) {
    const expected = spec.min === spec.max ? String(spec.min) : `${spec.min} to ${spec.max}`;
    return `${name}() takes ${expected} argument${spec.max === 1 ? '' : 's'}, given ${arity}`;
  }
  return undefined;
}

/** Call a function checked by checkCall. */
export function callFunction(name: string, args: Value[]): Value {
  const spec = FUNCTIONS[name] as Spec;
  if (spec.takesUndefined !== true && args.includes(undefined)) return undefined;
  return spec.fn(args);
}

export const FUNCTION_NAMES = Object.keys(FUNCTIONS).filter((n) => n !== 'array');
