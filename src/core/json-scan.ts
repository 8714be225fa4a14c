/**
 * A small strict JSON reader for the model's output object. Unlike `JSON.parse` it reports every top-level
 * member in order (so a field given twice is seen, not silently overwritten), keeps each key and string value
 * as written as well as decoded, tells "the text ran out" (truncated or still streaming output) apart from
 * "this is not JSON", and says where the object ends, so the caller decides what may follow it.
 *
 * It never throws and never recurses: nested values are checked with an explicit stack and skipped (the
 * model's answer never has them), so any depth costs memory in proportion to the text and no call stack.
 * Every loop moves forward through the text, and `steps` counts the characters looked at: one scan is linear.
 */

/** What kind of value a top-level member has. Only strings are kept; the rest are checked and skipped. */
export type JsonValueKind = 'string' | 'number' | 'literal' | 'object' | 'array';

export interface ScannedMember {
  /** The key, decoded. */
  key: string;
  /** The key as written between its quotes (escapes not decoded). */
  rawKey: string;
  kind: JsonValueKind;
  /** For a string value: decoded, and as written between its quotes. */
  value?: string;
  rawValue?: string;
}

interface ScanBase {
  /** The members completed so far, in order (all of them when the object is complete). */
  members: ScannedMember[];
  /** Characters looked at: the measure of work. */
  steps: number;
}
export type ObjectScan =
  | (ScanBase & { status: 'complete'; /** Index just after the closing brace. */ end: number })
  | (ScanBase & { status: 'out-of-input' })
  | (ScanBase & { status: 'syntax-error'; /** Where the text stopped being JSON. */ at: number });

/** JSON's own insignificant whitespace, nothing else (no BOM, no NBSP, no other Unicode spaces). */
export function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SIMPLE_ESCAPES: Record<number, string> = {
  0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t',
};

/** Why a scan stopped early; thrown only inside this module and always caught by `scanObject`. */
class Halt {
  constructor(
    readonly reason: 'out-of-input' | 'syntax-error',
    readonly at: number,
  ) {}
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

class Scanner {
  steps = 0;
  constructor(
    readonly text: string,
    public pos: number,
  ) {}

  /** The code unit at the cursor; halts as out-of-input at the end. */
  peek(): number {
    if (this.pos >= this.text.length) throw new Halt('out-of-input', this.pos);
    this.steps++;
    return this.text.charCodeAt(this.pos);
  }
  fail(): never {
    throw new Halt('syntax-error', this.pos);
  }
  expect(code: number): void {
    if (this.peek() !== code) this.fail();
    this.pos++;
  }
  skipWhitespace(): void {
    while (this.pos < this.text.length && isJsonWhitespace(this.text.charCodeAt(this.pos))) {
      this.steps++;
      this.pos++;
    }
  }

  /** Reads a string at the cursor (which is on its opening quote). Returns [decoded, raw] when `keep`. */
  string(keep: boolean): [string, string] | undefined {
    this.expect(QUOTE);
    const start = this.pos;
    let decoded = '';
    let runStart = start;
    for (;;) {
      const c = this.peek();
      if (c === QUOTE) {
        const end = this.pos++;
        return keep ? [decoded + this.text.slice(runStart, end), this.text.slice(start, end)] : undefined;
      }
      if (c < 0x20) this.fail();
      if (c !== BACKSLASH) {
        this.pos++;
        continue;
      }
      if (keep) decoded += this.text.slice(runStart, this.pos);
      this.pos++;
      const e = this.peek();
      if (e === 0x75) {
        this.pos++;
        for (let i = 0; i < 4; i++) {
          if (!isHex(this.peek())) this.fail();
          this.pos++;
        }
        if (keep) decoded += String.fromCharCode(parseInt(this.text.slice(this.pos - 4, this.pos), 16));
      } else {
        const simple = SIMPLE_ESCAPES[e];
        if (simple === undefined) this.fail();
        this.pos++;
        if (keep) decoded += simple;
      }
      runStart = this.pos;
    }
  }

  /** JSON's number grammar, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [-+]? [0-9]+)?`, one pass. */
  number(): void {
    if (this.peek() === 0x2d) this.pos++;
    const first = this.peek();
    if (first === 0x30) this.pos++;
    else if (isDigit(first)) this.digits();
    else this.fail();
    // A number cut off by the end of the text may still grow: `peek` halts as out-of-input there.
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) === 0x2e) {
      this.pos++;
      if (!isDigit(this.peek())) this.fail();
      this.digits();
    }
    if (this.pos < this.text.length && (this.text.charCodeAt(this.pos) | 0x20) === 0x65) {
      this.pos++;
      const sign = this.peek();
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (!isDigit(this.peek())) this.fail();
      this.digits();
    }
    // Where the text ends right after the digits, more digits could still come.
    if (this.pos >= this.text.length) throw new Halt('out-of-input', this.pos);
  }
  private digits(): void {
    while (this.pos < this.text.length && isDigit(this.text.charCodeAt(this.pos))) {
      this.steps++;
      this.pos++;
    }
  }

  literal(word: string): void {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() !== word.charCodeAt(i)) this.fail();
      this.pos++;
    }
  }

  /** A scalar value, or an object/array skipped by {@link nested}. */
  value(): JsonValueKind {
    const c = this.peek();
    if (c === QUOTE) {
      this.string(false);
      return 'string';
    }
    if (c === 0x7b || c === 0x5b) {
      this.nested();
      return c === 0x7b ? 'object' : 'array';
    }
    if (c === 0x74) this.literal('true');
    else if (c === 0x66) this.literal('false');
    else if (c === 0x6e) this.literal('null');
    else if (c === 0x2d || isDigit(c)) {
      this.number();
      return 'number';
    } else this.fail();
    return 'literal';
  }

  /**
   * Checks and skips the object or array at the cursor, iteratively: `open` holds, per open container,
   * whether it is an object. Scalars inside are read by the same functions as top-level ones.
   */
  private nested(): void {
    const open: boolean[] = [];
    let expectMember = this.openContainer(open);
    if (open.length === 0) return;
    for (;;) {
      if (expectMember) {
        // Right after '{' or '[' (an empty container closes at once) or after ','.
        this.skipWhitespace();
        const isObject = open[open.length - 1] as boolean;
        if (isObject) {
          this.string(false);
          this.skipWhitespace();
          this.expect(0x3a);
          this.skipWhitespace();
        }
        const c = this.peek();
        if (c === 0x7b || c === 0x5b) {
          expectMember = this.openContainer(open);
          continue;
        }
        this.value();
      }
      // After a value: ',' or the innermost container's closer.
      this.skipWhitespace();
      const c = this.peek();
      const isObject = open[open.length - 1] as boolean;
      if (c === 0x2c) {
        this.pos++;
        expectMember = true;
      } else if (c === (isObject ? 0x7d : 0x5d)) {
        this.pos++;
        open.pop();
        if (open.length === 0) return;
        expectMember = false;
      } else {
        this.fail();
      }
    }
  }

  /** Opens '{' or '['; returns whether a member follows (false when it closed at once). */
  private openContainer(open: boolean[]): boolean {
    const isObject = this.peek() === 0x7b;
    this.pos++;
    open.push(isObject);
    this.skipWhitespace();
    if (this.peek() === (isObject ? 0x7d : 0x5d)) {
      this.pos++;
      open.pop();
      return false;
    }
    return true;
  }
}

/**
 * Reads the JSON object starting at `start` (after any whitespace there). Returns its members in order and
 * where it ended, or how far it got: `out-of-input` when the text ends inside the object, `syntax-error` when
 * the text stops being JSON. Text after the closing brace is not looked at.
 */
export function scanObject(text: string, start = 0): ObjectScan {
  const s = new Scanner(text, start);
  const members: ScannedMember[] = [];
  try {
    s.skipWhitespace();
    s.expect(0x7b);
    s.skipWhitespace();
    if (s.peek() === 0x7d) {
      s.pos++;
      return { status: 'complete', members, end: s.pos, steps: s.steps };
    }
    for (;;) {
      s.skipWhitespace();
      if (s.peek() !== QUOTE) s.fail();
      const [key, rawKey] = s.string(true) as [string, string];
      s.skipWhitespace();
      s.expect(0x3a);
      s.skipWhitespace();
      if (s.peek() === QUOTE) {
        const [value, rawValue] = s.string(true) as [string, string];
        members.push({ key, rawKey, kind: 'string', value, rawValue });
      } else {
        members.push({ key, rawKey, kind: s.value() });
      }
      s.skipWhitespace();
      const sep = s.peek();
      s.pos++;
      if (sep === 0x7d) return { status: 'complete', members, end: s.pos, steps: s.steps };
      if (sep !== 0x2c) {
        s.pos--;
        s.fail();
      }
    }
  } catch (halt) {
    if (!(halt instanceof Halt)) throw halt;
    return halt.reason === 'out-of-input'
      ? { status: 'out-of-input', members, steps: s.steps }
      : { status: 'syntax-error', members, at: halt.at, steps: s.steps };
  }
}
