/**
 * The values of configuration lines: each reader takes the line and either returns its value or
 * fails with what was expected (the caller adds file:line and the directive's name).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ConfigLine } from './directives.js';

/** What a value reader needs of a directive's context. */
export interface ValueCtx {
  line: ConfigLine;
  fail(msg: string): never;
}

export function one(ctx: ValueCtx, what: string): string {
  const value = ctx.line.args[0];
  if (ctx.line.args.length !== 1 || value === undefined) return ctx.fail(`expects ${what}`);
  return value;
}

export function integer(ctx: ValueCtx, min: number, max: number): number {
  const text = ctx.line.args[0];
  if (ctx.line.args.length !== 1 || text === undefined || !/^-?\d+$/.test(text)) ctx.fail('expects one integer');
  const value = Number(text);
  if (value < min || value > max) ctx.fail(`must be between ${min} and ${max}`);
  return value;
}

export function boolean(ctx: ValueCtx): boolean {
  const value = ctx.line.args.length === 1 ? ctx.line.args[0] : undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return ctx.fail('expects true or false');
}

export function choice<T extends string>(ctx: ValueCtx, choices: readonly T[]): T {
  const value = ctx.line.args[0];
  if (ctx.line.args.length !== 1 || !(choices as readonly string[]).includes(value ?? '')) ctx.fail(`expects one of ${choices.join(', ')}`);
  return value as T;
}

/** Mosquitto durations: a number with h, d, w, m (months) or y (persistent_client_expiration). */
export function duration(ctx: ValueCtx): number {
  const match = /^([1-9]\d*)([hdwmy])$/.exec(one(ctx, 'a duration such as 14d'));
  if (match === null) return ctx.fail('expects a duration: a positive number followed by h, d, w, m or y (e.g. 14d)');
  const unit = { h: 3600, d: 86_400, w: 604_800, m: 2_592_000, y: 31_536_000 }[match[2] as 'h' | 'd' | 'w' | 'm' | 'y'];
  return Number(match[1]) * unit;
}

/** A path argument, relative to the naming file's directory, that must exist. */
export function existingPath(ctx: ValueCtx, kind: 'file' | 'directory'): string {
  if (ctx.line.rest === '') ctx.fail(`expects a ${kind}`);
  const path = resolve(dirname(ctx.line.file), ctx.line.rest);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    return ctx.fail(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (isDir !== (kind === 'directory')) ctx.fail(`${path} is not a ${kind}`);
  return path;
}

export function fileContents(ctx: ValueCtx): Buffer {
  const path = existingPath(ctx, 'file');
  try {
    return readFileSync(path);
  } catch (error) {
    return ctx.fail(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
