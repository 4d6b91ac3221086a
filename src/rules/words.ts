/**
 * Splits an `action` or `sink` line into words: whitespace separates, double quotes group
 * (also inside a word: payload="a b"), a backslash escapes the next character inside quotes.
 * Each word keeps the 1-based column where it starts.
 */
import { RuleSyntaxError } from './errors.js';

export interface Word {
  text: string;
  column: number;
}

export function splitWords(line: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') {
      i++;
      continue;
    }
    const column = i + 1;
    let text = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      const ch = line[i] as string;
      if (ch === '"') quoted = !quoted;
      else if (quoted && ch === '\\' && i + 1 < line.length) text += line[++i] as string;
      else text += ch;
      i++;
    }
    if (quoted) throw new RuleSyntaxError('unterminated "', column);
    words.push({ text, column });
  }
  return words;
}

/** `key=value` words as a map (with each value's column); other words are an error. */
export function keyValues(words: Word[], allowed: readonly string[]): Map<string, Word> {
  const out = new Map<string, Word>();
  for (const word of words) {
    const eq = word.text.indexOf('=');
    const key = eq < 0 ? word.text : word.text.slice(0, eq);
    const known = allowed.some((a) => a === key || (a.endsWith('.') && key.startsWith(a) && key.length > a.length));
    if (eq < 0 || !known) throw new RuleSyntaxError(`unknown option ${JSON.stringify(word.text)} (expected ${allowed.map((a) => `${a}${a.endsWith('.') ? 'NAME' : ''}=...`).join(', ')})`, word.column);
    if (out.has(key)) throw new RuleSyntaxError(`${key} given twice`, word.column);
    out.set(key, { text: word.text.slice(eq + 1), column: word.column + eq + 1 });
  }
  return out;
}
