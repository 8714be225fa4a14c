/**
 * A tiny tokenizer with Llama-3's ids where the guard depends on them, for tests that need no real
 * vocabulary (and so no tokenizer.json): the special tokens of the chat wrapping, the two rating words and
 * the assistant header's words get their Llama-3 ids; every other byte of the UTF-8 text is one token
 * (id BYTE_BASE + byte); other ids decode as U+FFFD. Encoding is greedy, specials first, so it is a byte-level tokenizer like Llama-3's:
 * tokens <= UTF-8 bytes, and decode(encode(text)) === text for well-formed text.
 */
import { LLAMA3_SPECIAL_TOKENS, VERDICT_TOKEN_IDS } from '../../src/core/tokens.js';
import type { TextTokenizer } from './scripted-token-session.js';

const BYTE_BASE = 1000;

/** Multi-byte pieces with their Llama-3 ids, longest first. */
const PIECES: ReadonlyArray<readonly [string, number]> = (
  [
    ...Object.values(LLAMA3_SPECIAL_TOKENS).map((t): [string, number] => [t.text, t.id]),
    ['assistant', 78191],
    ['unsafe', VERDICT_TOKEN_IDS.unsafe],
    ['safe', VERDICT_TOKEN_IDS.safe],
    ['\n\n', 271],
  ] as [string, number][]
).sort((a, b) => b[0].length - a[0].length);

const BY_ID = new Map<number, Uint8Array>(PIECES.map(([text, id]) => [id, new TextEncoder().encode(text)]));

export interface ToyTokenizer extends TextTokenizer {
  /** encode() calls and the total UTF-16 length they tokenized (to prove a text was refused untokenized). */
  readonly calls: { encode: number; encodedChars: number };
}

export function toyTokenizer(): ToyTokenizer {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const calls = { encode: 0, encodedChars: 0 };
  return {
    calls,
    encode(text: string): number[] {
      calls.encode++;
      calls.encodedChars += text.length;
      const ids: number[] = [];
      let i = 0;
      outer: while (i < text.length) {
        for (const [piece, id] of PIECES) {
          if (text.startsWith(piece, i)) {
            ids.push(id);
            i += piece.length;
            continue outer;
          }
        }
        const code = text.codePointAt(i)!;
        const char = String.fromCodePoint(code);
        for (const byte of encoder.encode(char)) ids.push(BYTE_BASE + byte);
        i += char.length;
      }
      return ids;
    },
    decode(ids: number[]): string {
      const bytes: number[] = [];
      for (const id of ids) {
        const piece = BY_ID.get(id);
        if (piece) bytes.push(...piece);
        else if (id >= BYTE_BASE && id < BYTE_BASE + 256) bytes.push(id - BYTE_BASE);
        // Ids outside the toy vocabulary (e.g. the argmax of all-zero logits) decode as U+FFFD.
        else bytes.push(0xef, 0xbf, 0xbd);
      }
      return decoder.decode(Uint8Array.from(bytes));
    },
  };
}
