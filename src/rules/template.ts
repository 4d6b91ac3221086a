/**
 * Templates of actions (`alerts/${clientid}`, `{"t": ${temp}}`): literal text with `${path}`
 * placeholders, where a path is a name into the rule's output row, with `.key` and `[0]`
 * steps (`${payload.temp}`). Compiled once at load; a bad placeholder is a RuleSyntaxError at its
 * column in the template text. Rendering: strings as they are, undefined as nothing, everything
 * else as JSON.
 */
import type { Expr, Value } from './ast.js';
import { RuleSyntaxError } from './errors.js';
import { evaluate, Row } from './evaluate.js';
import { toText } from './functions.js';
import { parseExpression } from './parser.js';

export interface Template {
  readonly source: string;
  /** Literal text and placeholders, in order. */
  readonly parts: ReadonlyArray<string | Expr>;
}

export function compileTemplate(source: string): Template {
  const parts: Array<string | Expr> = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('${', i);
    if (open < 0) {
      parts.push(source.slice(i));
      break;
    }
    if (open > i) parts.push(source.slice(i, open));
    const close = source.indexOf('}', open);
    if (close < 0) throw new RuleSyntaxError('unclosed ${', open + 1);
    parts.push(placeholder(source.slice(open + 2, close), open + 3));
    i = close + 1;
  }
  return { source, parts };
}

function placeholder(text: string, column: number): Expr {
  let expr: Expr;
  try {
    expr = parseExpression(text);
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new RuleSyntaxError(`in \${${text}}: ${error.reason}`, column + error.column - 1);
    throw error;
  }
  if (expr.kind !== 'path') throw new RuleSyntaxError(`\${...} holds a name such as \${clientid} or \${payload.temp}, not ${JSON.stringify(text)}`, column);
  return expr;
}

/** The values of a template's placeholders for one output row. */
export function templateValues(template: Template, output: Record<string, Value>): Value[] {
  const row = new Row(output, undefined);
  const values: Value[] = [];
  for (const part of template.parts) if (typeof part !== 'string') values.push(evaluate(part, row));
  return values;
}

export function render(template: Template, output: Record<string, Value>): string {
  if (template.parts.length === 1 && typeof template.parts[0] === 'string') return template.parts[0];
  const row = new Row(output, undefined);
  let text = '';
  for (const part of template.parts) text += typeof part === 'string' ? part : toText(evaluate(part, row));
  return text;
}
