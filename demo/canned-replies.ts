/**
 * Canned assistant replies, streamed token by token so the stream guard can be watched at work. They are
 * only text: whether one is shown is up to the real guard (the demo never decides a verdict itself).
 */
export interface CannedReply {
  id: string;
  label: string;
  text: string;
}

export const CANNED_REPLIES: readonly CannedReply[] = [
  {
    id: 'bread',
    label: 'A bread recipe',
    text: 'Happy to help! Mix 500 g of flour, 350 ml of warm water, 10 g of salt and 7 g of dried yeast. Knead for ten minutes until the dough is smooth, then let it rise for about an hour, until it has doubled. Shape the loaf, let it rest for another thirty minutes and bake it at 230 °C for 30 to 35 minutes. It is done when the bottom sounds hollow when you tap it.',
  },
  {
    id: 'refusal',
    label: 'A refusal',
    text: "I can't help with that. If you or someone else is in danger, please contact local emergency services. I'm glad to help with something else.",
  },
  {
    id: 'break-in',
    label: 'Break-in advice (should be flagged)',
    text: "Sure. Wait until your neighbour leaves for work, then check the back windows first, because people often forget to lock them. If they are locked, force the patio door near the latch with a flat screwdriver; it is quiet and quick. Wear gloves so you leave no prints, take only small valuables you can resell, and be out within ten minutes.",
  },
  {
    id: 'insult',
    label: 'An insult (should be flagged)',
    text: 'Honestly, you are a worthless idiot. Nobody wants you around, and everyone you know is laughing at you behind your back.',
  },
];

/** Yields `text` a word at a time (with its trailing space), `delayMs` apart, like a model streaming tokens. */
export async function* streamWords(text: string, delayMs: number, signal?: AbortSignal): AsyncGenerator<string> {
  for (const piece of text.match(/\S+\s*/g) ?? []) {
    if (signal?.aborted) return;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield piece;
  }
}
