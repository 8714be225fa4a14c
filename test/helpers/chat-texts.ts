/**
 * Seeded generators of chat-like text (our own words and templates, no dataset): user prompts and assistant
 * replies with the shapes real traffic has (questions, paragraphs, numbered lists, markdown, code, numbers,
 * quotes, contractions, other scripts, emoji, odd white space). The same seed gives the same texts.
 */
import { between, pick, seededRandom, type Random } from './prng.js';

const SUBJECTS = [
  'the recipe', 'your neighbour', 'a good teacher', 'this approach', 'the library', 'most people', 'the city council',
  'a small team', 'the first step', 'my sister', 'the engine', 'our customers', 'the weather', 'a careful reader',
  'the committee', 'every student', 'the old bridge', 'the new policy', 'a local bakery', 'the hospital',
  'the documentation', 'this question', 'the garden', 'a strong password', 'the spreadsheet', 'the river',
];
const VERBS = [
  'depends on', 'usually needs', 'can improve', 'should explain', 'will change', 'often ignores', 'rarely affects',
  'might require', 'helps with', 'describes', 'protects', 'replaces', 'measures', 'supports', 'organizes',
  'compares', 'encourages', 'prevents', 'reduces', 'increases', 'summarizes', 'recommends', 'discusses',
];
const OBJECTS = [
  'the overall budget', 'several important details', 'a quiet afternoon', 'the historical background',
  'reliable information', 'fresh vegetables', 'the safety instructions', 'a balanced diet', 'the final decision',
  'regular exercise', 'the environmental impact', 'long-term planning', 'the original question',
  'different opinions', 'the temperature outside', 'unexpected problems', 'the relevant evidence',
  'community events', 'the maintenance schedule', 'clear communication', 'the application process',
];
const TAILS = [
  '', '', '', ' in most cases', ' over time', ' for beginners', ' without much effort', ' during the winter',
  ' according to experts', ' at the same time', ' when it matters', ' in the long run', ' for everyone involved',
  ' before the deadline', ' after a few weeks', ', which is understandable', ', especially in larger cities',
];
const OPENERS = [
  'However, ', 'In addition, ', 'For example, ', 'Generally speaking, ', 'Of course, ', 'On the other hand, ',
  'That said, ', 'First, ', 'Finally, ', 'As a result, ', "It's worth noting that ", "Don't forget that ", '',
  '', '', '',
];
const QUESTIONS = [
  'How do I', 'What is the best way to', 'Can you explain how to', "What's the difference between", 'Why does',
  'Is it safe to', 'Could you help me', 'Where can I find out how to', 'When should I', 'Should I',
];
const ACTIONS = [
  'bake bread at home', 'fix a leaking tap', 'learn a new language', 'plan a trip to the mountains',
  'write a cover letter', 'train a puppy', 'save money on groceries', 'repair a bicycle chain',
  'grow tomatoes on a balcony', 'prepare for a job interview', 'clean a cast iron pan', 'back up my photos',
  'choose a laptop for programming', 'talk to my landlord about repairs', 'improve my sleep',
];
const FOREIGN = [
  'Bonjour, ça va très bien, merci !', 'Danke schön, das ist großartig.', '¿Dónde está la estación?',
  'Привет, как дела?', '你好，今天天气很好。', 'こんにちは、元気ですか？', '안녕하세요, 반갑습니다.',
  'مرحبا بكم', 'שלום עולם', 'Xin chào các bạn', 'नमस्ते, आप कैसे हैं?', 'Γειά σου κόσμε',
];
const EMOJI = ['🙂', '👍', '🎉', '🍞', '🚲', '👍🏽', '❤️', '🤔'];
const CODE = [
  'const total = items.reduce((sum, x) => sum + x.price, 0);',
  'for i in range(10):\n    print(i * i)',
  'if (!response.ok) { throw new Error(`status ${response.status}`); }',
  'SELECT name, COUNT(*) FROM orders GROUP BY name;',
  'git commit -m "fix: handle empty input"',
];

function sentence(rng: Random): string {
  const s = `${pick(rng, OPENERS)}${pick(rng, SUBJECTS)} ${pick(rng, VERBS)} ${pick(rng, OBJECTS)}${pick(rng, TAILS)}`;
  const r = rng();
  const body = s.charAt(0).toUpperCase() + s.slice(1);
  if (r < 0.06) return `${body} (about ${between(rng, 2, 95)}%).`;
  if (r < 0.1) return `${body}, roughly ${between(rng, 1, 12)},${between(rng, 100, 999)} times a year.`;
  if (r < 0.14) return `"${body}," as one guide puts it.`;
  if (r < 0.18) return `${body}!`;
  return `${body}.`;
}

function paragraph(rng: Random): string {
  return Array.from({ length: between(rng, 2, 6) }, () => sentence(rng)).join(' ');
}

/** A user prompt: a question, sometimes with context, another language, an emoji or odd spacing. */
export function chatPrompt(rng: Random): string {
  const r = rng();
  let text = `${pick(rng, QUESTIONS)} ${pick(rng, ACTIONS)}?`;
  if (r < 0.3) text = `${sentence(rng)} ${text}`;
  else if (r < 0.4) text = `${pick(rng, FOREIGN)} ${text}`;
  else if (r < 0.5) text = `${text} ${pick(rng, EMOJI)}`;
  else if (r < 0.55) text = `  ${text}\n\nThanks!  `;
  else if (r < 0.6) text = `${text}\n\n${pick(rng, CODE)}`;
  return text;
}

/** An assistant reply of a few paragraphs: prose, lists, markdown, sometimes code or another script. */
export function chatReply(rng: Random): string {
  const blocks: string[] = [paragraph(rng)];
  const n = between(rng, 1, 4);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (r < 0.25) {
      blocks.push(Array.from({ length: between(rng, 2, 5) }, (_, k) => `${k + 1}. **${pick(rng, OBJECTS)}**: ${sentence(rng)}`).join('\n'));
    } else if (r < 0.35) {
      blocks.push(Array.from({ length: between(rng, 2, 4) }, () => `- ${sentence(rng)}`).join('\n'));
    } else if (r < 0.42) {
      blocks.push(`\`\`\`\n${pick(rng, CODE)}\n\`\`\``);
    } else if (r < 0.46) {
      blocks.push(`${pick(rng, FOREIGN)} ${sentence(rng)}`);
    } else {
      blocks.push(paragraph(rng));
    }
  }
  if (rng() < 0.2) blocks.push(`I hope this helps ${pick(rng, EMOJI)}`);
  return blocks.join(rng() < 0.9 ? '\n\n' : '\r\n\r\n');
}

/** `count` prompt/reply pairs from `seed`. */
export function chatPairs(seed: number, count: number): Array<{ prompt: string; reply: string }> {
  const rng = seededRandom(seed);
  return Array.from({ length: count }, () => ({ prompt: chatPrompt(rng), reply: chatReply(rng) }));
}
