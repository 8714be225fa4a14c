/**
 * A small strict JSON reader for the model's output object. Unlike `JSON.parse` it reports every top-level
 * member in order (so a field given twice is seen, not silently overwritten), it tells "the text ran out"
 * (truncated output) apart from "this is not JSON", and it can stop at the first member a caller needs
 * (for reading the verdict while tokens still stream in).
 */

/** The text ended inside the JSON value. */
export class JsonOutOfInput extends Error {}
/** The text is not JSON. */
export class JsonSyntaxError extends Error {}

export interface JsonMember {
  key: string;
  value: unknown;
}

const WS = new Set([' ', '\t', '\n', '\r']);
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  peek(): string {
    if (this.pos >= this.text.length) throw new JsonOutOfInput();
    return this.text[this.pos] as string;
  }
  next(): string {
    const c = this.peek();
    this.pos++;
    return c;
  }
  expect(c: string): void {
    if (this.next() !== c) throw new JsonSyntaxError(`expected '${c}' at ${this.pos - 1}`);
  }
  skipWhitespace(): void {
    while (this.pos < this.text.length && WS.has(this.text[this.pos] as string)) this.pos++;
  }
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
}

function readString(c: Cursor): string {
  c.expect('"');
  let out = '';
  for (;;) {
    const ch = c.next();
    if (ch === '"') return out;
    if (ch === '\\') {
      const e = c.next();
      if (e === 'u') {
        let hex = '';
        for (let i = 0; i < 4; i++) hex += c.next();
        if (!/^[0-9a-fA-F]{4}$/u.test(hex)) throw new JsonSyntaxError('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
      } else {
        throw new JsonSyntaxError(`bad escape \\${e}`);
      }
    } else if (ch < ' ') {
      throw new JsonSyntaxError('control character in string');
    } else {
      out += ch;
    }
  }
}

function readLiteral(c: Cursor, word: string, value: unknown): unknown {
  for (const expected of word) {
    if (c.next() !== expected) throw new JsonSyntaxError(`bad literal, expected ${word}`);
  }
  return value;
}

function readNumber(c: Cursor): number {
  const start = c.pos;
  while (!c.atEnd() && /[-+0-9.eE]/u.test(c.text[c.pos] as string)) c.pos++;
  const raw = c.text.slice(start, c.pos);
  // A number cut off by the end of the text may still grow ("1" -> "12"): only the caller's next read knows.
  if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/u.test(raw)) {
    if (c.atEnd()) throw new JsonOutOfInput();
    throw new JsonSyntaxError(`bad number ${raw}`);
  }
  return Number(raw);
}

function readArray(c: Cursor): unknown[] {
  c.expect('[');
  const out: unknown[] = [];
  c.skipWhitespace();
  if (c.peek() === ']') {
    c.pos++;
    return out;
  }
  for (;;) {
    out.push(readValue(c));
    c.skipWhitespace();
    const sep = c.next();
    if (sep === ']') return out;
    if (sep !== ',') throw new JsonSyntaxError(`expected ',' or ']' at ${c.pos - 1}`);
  }
}

function readObject(c: Cursor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // defineProperty, not assignment: a "__proto__" key must stay a plain key.
  for (const m of members(c)) {
    Object.defineProperty(out, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readValue(c: Cursor): unknown {
  c.skipWhitespace();
  const ch = c.peek();
  if (ch === '"') return readString(c);
  if (ch === '{') return readObject(c);
  if (ch === '[') return readArray(c);
  if (ch === 't') return readLiteral(c, 'true', true);
  if (ch === 'f') return readLiteral(c, 'false', false);
  if (ch === 'n') return readLiteral(c, 'null', null);
  if (ch === '-' || (ch >= '0' && ch <= '9')) return readNumber(c);
  throw new JsonSyntaxError(`unexpected '${ch}' at ${c.pos}`);
}

/** Yields an object's members as each one completes; the cursor ends after the closing brace. */
function* members(c: Cursor): Generator<JsonMember> {
  c.skipWhitespace();
  c.expect('{');
  c.skipWhitespace();
  if (c.peek() === '}') {
    c.pos++;
    return;
  }
  for (;;) {
    c.skipWhitespace();
    if (c.peek() !== '"') throw new JsonSyntaxError(`expected a key at ${c.pos}`);
    const key = readString(c);
    c.skipWhitespace();
    c.expect(':');
    const value = readValue(c);
    yield { key, value };
    c.skipWhitespace();
    const sep = c.next();
    if (sep === '}') return;
    if (sep !== ',') throw new JsonSyntaxError(`expected ',' or '}' at ${c.pos - 1}`);
  }
}

/**
 * Reads `text` as exactly one JSON object, yielding its top-level members in order as each completes.
 * Throws {@link JsonOutOfInput} when the text ends early and {@link JsonSyntaxError} when it is not one
 * JSON object (including anything but whitespace after the closing brace), at the point where that is found.
 */
export function* scanObjectMembers(text: string): Generator<JsonMember> {
  const c = new Cursor(text);
  yield* members(c);
  c.skipWhitespace();
  if (!c.atEnd()) throw new JsonSyntaxError(`unexpected text after the object at ${c.pos}`);
}
