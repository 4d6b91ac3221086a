/**
 * The tokens of the rule SQL: identifiers (case-insensitive keywords among them), numbers,
 * 'single' and "double" quoted strings (a doubled quote or a backslash escapes the quote),
 * operators and punctuation. Every token keeps its 1-based column for error messages.
 */
import { RuleSyntaxError } from './errors.js';

export type TokenKind = 'ident' | 'keyword' | 'number' | 'string' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Keywords upper-cased; strings without their quotes; operators as written. */
  text: string;
  /** Which quote a string used ('"' names topics in FROM), or ''. */
  quote: string;
  column: number;
}

export const KEYWORDS = new Set(['SELECT', 'FROM', 'WHERE', 'AS', 'AND', 'OR', 'NOT', 'IN', 'FOREACH', 'DO', 'INCASE', 'TRUE', 'FALSE', 'NULL', 'DIV', 'MOD', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END']);

/** Longest first, so `<=` wins over `<`. */
const OPERATORS = ['=~', '<=', '>=', '<>', '!=', '=', '<', '>', '+', '-', '*', '/', '(', ')', '[', ']', ',', '.'];

/** Longest SQL text accepted (a rule is a line of a configuration file, not a program). */
export const MAX_SQL_LENGTH = 64 * 1024;

export function tokenize(text: string): Token[] {
  if (text.length > MAX_SQL_LENGTH) throw new RuleSyntaxError(`longer than ${MAX_SQL_LENGTH} characters`, MAX_SQL_LENGTH + 1);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const column = i + 1;
    if (isIdentStart(c)) {
      let end = i + 1;
      while (end < text.length && isIdentPart(text.charCodeAt(end))) end++;
      const word = text.slice(i, end);
      const upper = word.toUpperCase();
      tokens.push(KEYWORDS.has(upper) ? { kind: 'keyword', text: upper, quote: '', column } : { kind: 'ident', text: word, quote: '', column });
      i = end;
    } else if (isDigit(c)) {
      i = readNumber(text, i, tokens);
    } else if (c === 39 || c === 34 || c === 96) {
      i = readString(text, i, tokens);
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op === undefined) throw new RuleSyntaxError(`unexpected character ${JSON.stringify(text[i])}`, column);
      tokens.push({ kind: 'op', text: op, quote: '', column });
      i += op.length;
    }
  }
  tokens.push({ kind: 'eof', text: '', quote: '', column: text.length + 1 });
  return tokens;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36; // A-Z a-z _ $
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function readNumber(text: string, start: number, tokens: Token[]): number {
  const match = /^(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(start, start + 64));
  const literal = (match as RegExpExecArray)[0];
  const end = start + literal.length;
  if (end < text.length && isIdentPart(text.charCodeAt(end))) throw new RuleSyntaxError(`bad number ${JSON.stringify(text.slice(start, end + 1))}`, start + 1);
  tokens.push({ kind: 'number', text: literal, quote: '', column: start + 1 });
  return end;
}

function readString(text: string, start: number, tokens: Token[]): number {
  const quote = text[start] as string;
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new RuleSyntaxError(`unterminated string (opened with ${quote})`, start + 1);
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      value += escaped(text[i + 1] as string);
      i += 2;
    } else if (ch === quote && text[i + 1] === quote) {
      value += quote;
      i += 2;
    } else if (ch === quote) {
      break;
    } else {
      value += ch;
      i++;
    }
  }
  // Backquotes quote identifiers (a column named like a keyword), as in EMQX.
  tokens.push(quote === '`' ? { kind: 'ident', text: value, quote: '', column: start + 1 } : { kind: 'string', text: value, quote, column: start + 1 });
  return i + 1;
}

function escaped(ch: string): string {
  if (ch === 'n') return '\n';
  if (ch === 't') return '\t';
  if (ch === 'r') return '\r';
  return ch;
}
