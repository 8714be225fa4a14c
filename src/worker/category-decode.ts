/**
 * Jump-forward decoding of the answer after the rating word: a token trie over what the model may write
 * there, so that tokens which are forced once a choice is made are forwarded together with that choice,
 * and only real choices cost a decode step.
 *
 * After the rating the model writes either `"}` or `", "Safety Categories": "` and a comma-separated list of
 * category names from the prompt's taxonomy, closed by `"}`. The choices in that text are: close or list;
 * which category; another one or close. Everything else is forced. Per category that is two decode steps
 * (one forward yields one set of logits, so "which one" and "another or close" cannot share a step); a
 * one-category answer takes 3 steps instead of the ~12 of token-by-token decoding.
 *
 * Exactness. At a choice point the token taken is the model's own argmax, as in greedy decoding. A forced
 * token is the only token that continues a listed name. So whenever greedy decoding writes listed names in
 * this format, the output is token for token what greedy decoding writes. When it would not:
 * - the model's argmax at a choice point is not in the trie (a name that is not listed, other spelling or
 *   casing, any other text): decoding falls back to plain greedy decoding from that token on, so the output
 *   is again exactly greedy's, and the parser reads it as usual (an unlisted name gets `code: null`);
 * - the model would leave the forced text in the middle of a run: it starts "Guns" but means "Guns and
 *   Ammunition", and the run completes the listed name ("Guns and Illegal Weapons"); or after `",` it would
 *   write another field than the category list (a second rating, say), and gets `"Safety Categories"`. The
 *   logits inside a run are never computed, so this cannot be seen. The output then names the listed
 *   category the model began; a second rating could not have counted anyway, since this path reads the
 *   rating from the logits before any of this is decoded.
 * Names containing `}` are left out of the trie: greedy decoding (and the plain path's stop string) ends the
 * answer at the first `}`, and so must this decoding.
 *
 * The trie is built from the session's own tokenizer, each piece tokenized in its context. A piece whose
 * tokens would merge with what precedes it (not a token boundary) is left out, so its name is decoded
 * greedily.
 */
import { CATEGORIES_FIELD, OUTPUT_LEAD } from '../core/parse.js';
import { buildTaxonomy } from '../core/taxonomy.js';
import type { CustomCategory, Rating } from '../core/types.js';
import type { TokenSession } from '../engine/engine.js';
import { CATEGORY_MAX_STEPS, END_OF_TURN_IDS } from './fast-prompt.js';
import { argmax } from './logits.js';

/** What the answer opens the category list with after a rating word. */
export const CATEGORIES_OPENING = `", "${CATEGORIES_FIELD}": "`;
/** What closes the answer (after a rating or after the last category name). */
export const ANSWER_CLOSE = '"}';

/** Where decoding continues once a piece is complete. */
type Continuation = 'done' | 'first' | 'next';

interface TrieNode {
  children: Map<number, TrieNode>;
  /** A piece ends here; decoding continues in that list (`done`: the answer is complete). */
  then?: Continuation;
}

/** The trie of one taxonomy for one tokenizer. */
export interface CategoryGrammar {
  /** Right after a rating word: close, or open the category list. */
  afterRating: Record<Rating, TrieNode>;
  /** The first name of the list, with what follows it (`,` or the close). */
  first: TrieNode;
  /** Every later name (after `,`): a space, the name, what follows it. */
  next: TrieNode;
  /** Names left out of the trie (decoded greedily), for tests and diagnostics. */
  skipped: string[];
}

const node = (): TrieNode => ({ children: new Map() });

/** Adds a piece; false when it would make the trie ambiguous (it passes or stops at another piece's end). */
function insert(root: TrieNode, ids: readonly number[], then: Continuation): boolean {
  // Check first, so that a refused piece leaves no dangling path behind.
  let at: TrieNode | undefined = root;
  for (const id of ids) {
    if (at.then) return false;
    at = at.children.get(id);
    if (!at) break;
  }
  if (at && (at.then || at.children.size > 0)) return false;
  let end = root;
  for (const id of ids) {
    let child = end.children.get(id);
    if (!child) end.children.set(id, (child = node()));
    end = child;
  }
  end.then = then;
  return true;
}

const startsWith = (ids: readonly number[], head: readonly number[]) => head.every((id, i) => ids[i] === id);

async function buildGrammar(session: TokenSession, names: readonly string[]): Promise<CategoryGrammar> {
  const contexts = new Map<string, Promise<number[]>>();
  const encodeContext = (text: string) => {
    let ids = contexts.get(text);
    if (!ids) contexts.set(text, (ids = session.encode(text)));
    return ids;
  };
  /** The ids `piece` adds after `context`, or undefined when the two merge into a token across the cut. */
  const pieceIds = async (context: string, piece: string): Promise<number[] | undefined> => {
    const [head, whole] = await Promise.all([encodeContext(context), session.encode(context + piece)]);
    if (!startsWith(whole, head) || whole.length === head.length) return undefined;
    return whole.slice(head.length);
  };

  const grammar: CategoryGrammar = { afterRating: { safe: node(), unsafe: node() }, first: node(), next: node(), skipped: [] };
  for (const rating of ['safe', 'unsafe'] as const) {
    const context = OUTPUT_LEAD + rating;
    for (const [piece, then] of [[ANSWER_CLOSE, 'done'], [CATEGORIES_OPENING, 'first']] as const) {
      const ids = await pieceIds(context, piece);
      if (ids) insert(grammar.afterRating[rating], ids, then);
    }
  }
  const firstContext = OUTPUT_LEAD + 'unsafe' + CATEGORIES_OPENING;
  // Any listed name then a comma: what precedes a later name (the cut is before the space).
  const nextContext = `${firstContext}${names[0] ?? 'Violence'},`;
  for (const name of names) {
    let ok = !name.includes('}');
    for (const [root, context, lead] of [[grammar.first, firstContext, ''], [grammar.next, nextContext, ' ']] as const) {
      for (const [end, then] of [[',', 'next'], [ANSWER_CLOSE, 'done']] as const) {
        const ids = ok ? await pieceIds(context, lead + name + end) : undefined;
        ok = ids !== undefined && insert(root, ids, then);
      }
    }
    if (!ok) grammar.skipped.push(name);
  }
  return grammar;
}

const grammars = new WeakMap<TokenSession, Map<string, Promise<CategoryGrammar>>>();
/** Distinct taxonomies whose tries are remembered per session. */
const MAX_REMEMBERED_GRAMMARS = 8;

/** The trie for the categories a prompt lists (the taxonomy plus `custom`), built once per session. */
export function categoryGrammarFor(session: TokenSession, custom: readonly CustomCategory[] = []): Promise<CategoryGrammar> {
  const names = buildTaxonomy(custom).map((c) => c.name);
  const key = JSON.stringify(names);
  let memo = grammars.get(session);
  if (!memo) grammars.set(session, (memo = new Map()));
  let grammar = memo.get(key);
  if (!grammar) {
    if (memo.size >= MAX_REMEMBERED_GRAMMARS) memo.delete(memo.keys().next().value!);
    grammar = buildGrammar(session, names);
    memo.set(key, grammar);
    grammar.catch(() => memo.delete(key));
  }
  return grammar;
}

/** What decoding needs from the judge: a forward counted as one decode step, and detokenization. */
export interface DecodeSteps {
  /** Forwards `ids` (the chosen token, then `forced` forced ones) and returns the logits after them. */
  step(ids: number[], forced: number): Promise<Float32Array>;
  decode(ids: number[]): Promise<string>;
}

function rootOf(grammar: CategoryGrammar, then: Exclude<Continuation, 'done'>): TrieNode {
  return then === 'first' ? grammar.first : grammar.next;
}

/** Text up to and including the first `}`, as the plain path's stop string cuts it. */
const upToBrace = (text: string) => {
  const brace = text.indexOf('}');
  return brace >= 0 ? text.slice(0, brace + 1) : text;
};

/**
 * Decodes the answer after `rating` (whose token is forwarded first), jumping over forced tokens, with at
 * most CATEGORY_MAX_STEPS forwards. Stops at the first `}` or an end-of-turn token, as greedy decoding does;
 * an answer cut short by the step limit comes back unfinished (the parser then reports 'truncated').
 */
export async function decodeAfterRating(
  io: DecodeSteps,
  grammar: CategoryGrammar | undefined,
  rating: Rating,
  ratingToken: number,
): Promise<string> {
  const out: number[] = [];
  let logits = await io.step([ratingToken], 0);
  let steps = 1;
  let at: TrieNode | undefined = grammar?.afterRating[rating];
  while (grammar && at) {
    const chosen = argmax(logits);
    const taken = at.children.get(chosen);
    if (!taken) break;
    const run = [chosen];
    let next: TrieNode = taken;
    for (;;) {
      if (next.then === 'done') {
        out.push(...run);
        return upToBrace(await io.decode(out));
      }
      if (next.then) next = rootOf(grammar, next.then);
      if (next.children.size !== 1) break;
      const [id, child] = next.children.entries().next().value as [number, TrieNode];
      run.push(id);
      next = child;
    }
    out.push(...run);
    if (steps >= CATEGORY_MAX_STEPS) return io.decode(out);
    logits = await io.step(run, run.length - 1);
    steps++;
    at = next;
  }
  // Plain greedy decoding from here: the model's own token at every step.
  for (let token = argmax(logits); !END_OF_TURN_IDS.has(token); token = argmax(logits)) {
    out.push(token);
    // Decode the whole tail each time: a multi-byte character may span tokens.
    const text = await io.decode(out);
    if (text.includes('}') || steps >= CATEGORY_MAX_STEPS) return upToBrace(text);
    logits = await io.step([token], 0);
    steps++;
  }
  return io.decode(out);
}
