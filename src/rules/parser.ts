/**
 * A hand-written recursive-descent parser for the rule SQL (EMQX's dialect, see docs/rules.md):
 *
 *   SELECT fields FROM sources [WHERE expr]
 *   FOREACH expr [AS name] [DO fields] [INCASE expr] FROM sources [WHERE expr]
 *
 * Precedence, loosest first: OR, AND, NOT, comparison (= != <> < <= > >= =~ IN), + -,
 * * / DIV MOD, unary -, then literals, paths, calls, CASE and parentheses. Every error is a
 * RuleSyntaxError at the column of the token that went wrong; nothing else is ever thrown.
 * Nesting is bounded (MAX_DEPTH), so no input can exhaust the stack.
 */
import { isValidTopicFilter } from '../protocol/validate.js';
import { RULE_EVENTS, type BinaryOp, type Expr, type Field, type Foreach, type RuleEvent, type RuleSql, type Source } from './ast.js';
import { RuleSyntaxError } from './errors.js';
import { checkCall } from './functions.js';
import { tokenize, type Token } from './lexer.js';

/** Deepest nesting of expressions accepted. */
export const MAX_DEPTH = 64;

const COMPARISONS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=', '=~']);

export function parseRuleSql(text: string): RuleSql {
  return new Parser(tokenize(text)).statement();
}

/** Parse one expression (a template's `${...}` or a test's). */
export function parseExpression(text: string): Expr {
  const parser = new Parser(tokenize(text));
  const expr = parser.expression();
  parser.expectEnd();
  return expr;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  statement(): RuleSql {
    let fields: Field[] = [];
    let foreach: Foreach | undefined;
    if (this.acceptKeyword('SELECT')) fields = this.fields();
    else if (this.acceptKeyword('FOREACH')) foreach = this.foreach();
    else this.fail('a rule starts with SELECT or FOREACH');
    this.expectKeyword('FROM');
    const from = this.sources();
    const where = this.acceptKeyword('WHERE') ? this.expression() : undefined;
    this.expectEnd();
    return { fields, foreach, from, where };
  }

  expectEnd(): void {
    if (this.peek().kind !== 'eof') this.fail(`unexpected ${describe(this.peek())}`);
  }

  private foreach(): Foreach {
    const expr = this.expression();
    const alias = this.acceptKeyword('AS') ? this.identifier() : 'item';
    const fields = this.acceptKeyword('DO') ? this.fields() : [];
    const incase = this.acceptKeyword('INCASE') ? this.expression() : undefined;
    return { expr, alias, fields, incase };
  }

  private fields(): Field[] {
    const fields: Field[] = [];
    do fields.push(this.field());
    while (this.acceptOp(','));
    return fields;
  }

  private field(): Field {
    if (this.acceptOp('*')) return { kind: 'all' };
    const start = this.pos;
    const expr = this.expression();
    if (this.acceptKeyword('AS')) return { kind: 'expr', expr, name: this.aliasPath() };
    if (expr.kind === 'path') return { kind: 'expr', expr, name: [expr.root, ...expr.steps.map(String)] };
    // An unnamed expression is stored under its own text, as EMQX does.
    return { kind: 'expr', expr, name: [this.tokens.slice(start, this.pos).map((t) => t.text).join('')] };
  }

  private aliasPath(): string[] {
    const path = [this.identifier()];
    while (this.acceptOp('.')) path.push(this.identifier());
    return path;
  }

  private sources(): Source[] {
    const sources: Source[] = [];
    do sources.push(this.source());
    while (this.acceptOp(','));
    return sources;
  }

  private source(): Source {
    const token = this.next();
    if (token.kind !== 'string' || token.quote !== '"') this.fail('FROM expects "topic/filter" or "$events/name" in double quotes', token);
    const text = token.text;
    if (text.startsWith('$events/')) {
      const event = text.slice('$events/'.length);
      if (!(RULE_EVENTS as readonly string[]).includes(event)) this.fail(`unknown event ${JSON.stringify(text)} (known: ${RULE_EVENTS.map((e) => `$events/${e}`).join(', ')})`, token);
      return { kind: 'event', event: event as RuleEvent, column: token.column };
    }
    if (!isValidTopicFilter(text)) this.fail(`invalid topic filter ${JSON.stringify(text)}`, token);
    return { kind: 'topic', filter: text, column: token.column };
  }

  // ---- expressions, loosest first -------------------------------------------------------

  expression(): Expr {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested more than ${MAX_DEPTH} levels`);
    try {
      return this.or();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let left = this.and();
    while (this.acceptKeyword('OR')) left = { kind: 'binary', op: 'OR', left, right: this.and() };
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.acceptKeyword('AND')) left = { kind: 'binary', op: 'AND', left, right: this.not() };
    return left;
  }

  private not(): Expr {
    if (this.acceptKeyword('NOT')) return { kind: 'not', arg: this.nested(() => this.not()) };
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const token = this.peek();
    if (token.kind === 'op' && COMPARISONS.has(token.text)) {
      this.pos++;
      const op = (token.text === '<>' ? '!=' : token.text) as BinaryOp;
      return { kind: 'binary', op, left, right: this.additive() };
    }
    const negated = token.kind === 'keyword' && token.text === 'NOT' && this.peek(1).kind === 'keyword' && this.peek(1).text === 'IN';
    if (negated) this.pos++;
    if (this.acceptKeyword('IN')) {
      this.expectOp('(');
      const list = [this.expression()];
      while (this.acceptOp(',')) list.push(this.expression());
      this.expectOp(')');
      return { kind: 'in', arg: left, list, negated };
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const op = this.acceptOp('+') ? '+' : this.acceptOp('-') ? '-' : undefined;
      if (op === undefined) return left;
      left = { kind: 'binary', op, left, right: this.multiplicative() };
    }
  }

  private multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const op = this.acceptOp('*') ? '*' : this.acceptOp('/') ? '/' : this.acceptKeyword('DIV') ? 'DIV' : this.acceptKeyword('MOD') ? 'MOD' : undefined;
      if (op === undefined) return left;
      left = { kind: 'binary', op, left, right: this.unary() };
    }
  }

  private unary(): Expr {
    if (this.acceptOp('-')) return { kind: 'negate', arg: this.nested(() => this.unary()) };
    return this.primary();
  }

  private primary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return { kind: 'literal', value: Number(token.text) };
      case 'string':
        return { kind: 'literal', value: token.text };
      case 'keyword':
        return this.keywordPrimary(token);
      case 'ident':
        return this.peek().kind === 'op' && this.peek().text === '(' ? this.call(token) : this.path(token);
      case 'op':
        if (token.text === '(') {
          const inner = this.expression();
          this.expectOp(')');
          return inner;
        }
        if (token.text === '[') return this.arrayLiteral();
        return this.fail(`unexpected ${describe(token)}`, token);
      default:
        return this.fail('unexpected end of the expression', token);
    }
  }

  private keywordPrimary(token: Token): Expr {
    if (token.text === 'TRUE') return { kind: 'literal', value: true };
    if (token.text === 'FALSE') return { kind: 'literal', value: false };
    if (token.text === 'NULL') return { kind: 'literal', value: null };
    if (token.text === 'CASE') return this.caseExpr();
    return this.fail(`unexpected keyword ${token.text}`, token);
  }

  private caseExpr(): Expr {
    const whens: Array<[Expr, Expr]> = [];
    while (this.acceptKeyword('WHEN')) {
      const condition = this.expression();
      this.expectKeyword('THEN');
      whens.push([condition, this.expression()]);
    }
    if (whens.length === 0) this.fail('CASE expects WHEN condition THEN value');
    const otherwise = this.acceptKeyword('ELSE') ? this.expression() : undefined;
    this.expectKeyword('END');
    return { kind: 'case', whens, otherwise };
  }

  private arrayLiteral(): Expr {
    const items: Expr[] = [];
    if (!this.acceptOp(']')) {
      do items.push(this.expression());
      while (this.acceptOp(','));
      this.expectOp(']');
    }
    return { kind: 'call', name: 'array', args: items, column: 0 };
  }

  private call(name: Token): Expr {
    this.expectOp('(');
    const args: Expr[] = [];
    if (!this.acceptOp(')')) {
      do args.push(this.expression());
      while (this.acceptOp(','));
      this.expectOp(')');
    }
    const problem = checkCall(name.text, args.length);
    if (problem !== undefined) this.fail(problem, name);
    return { kind: 'call', name: name.text.toLowerCase(), args, column: name.column };
  }

  private path(root: Token): Expr {
    const steps: Array<string | number> = [];
    for (;;) {
      if (this.acceptOp('.')) {
        const key = this.next();
        // `payload.1` is not a key of JSON text an editor would write; keys are identifiers or keywords.
        if (key.kind !== 'ident' && key.kind !== 'keyword') this.fail('expects a key after "."', key);
        steps.push(key.kind === 'keyword' ? key.text.toLowerCase() : key.text);
      } else if (this.acceptOp('[')) {
        const index = this.next();
        if (index.kind === 'number' && /^\d+$/.test(index.text)) steps.push(Number(index.text));
        else if (index.kind === 'string') steps.push(index.text);
        else this.fail('expects an index (0, 1, ...) or a quoted key inside [ ]', index);
        this.expectOp(']');
      } else {
        return { kind: 'path', root: root.text, steps };
      }
    }
  }

  // ---- tokens ---------------------------------------------------------------------------

  private nested(parse: () => Expr): Expr {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested more than ${MAX_DEPTH} levels`);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private identifier(): string {
    const token = this.next();
    if (token.kind !== 'ident') this.fail(`expects a name, found ${describe(token)}`, token);
    return token.text;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.pos++;
    return token;
  }

  private acceptKeyword(word: string): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword' || token.text !== word) return false;
    this.pos++;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail(`expects ${word}, found ${describe(this.peek())}`);
  }

  private acceptOp(op: string): boolean {
    const token = this.peek();
    if (token.kind !== 'op' || token.text !== op) return false;
    this.pos++;
    return true;
  }

  private expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail(`expects "${op}", found ${describe(this.peek())}`);
  }

  private fail(reason: string, token: Token = this.peek()): never {
    throw new RuleSyntaxError(reason, token.column);
  }
}

function describe(token: Token): string {
  if (token.kind === 'eof') return 'the end of the text';
  if (token.kind === 'string') return `string ${token.quote}${token.text}${token.quote}`;
  return JSON.stringify(token.text);
}
