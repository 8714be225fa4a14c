/**
 * Unicode case folding as the prompt defuser and the output reader both need it: NFKC, then lower, upper and
 * lower again (which catches `ſ`, `ß`, `ẞ` and the other characters one lowering leaves apart), then NFKC again.
 */
export function caseFold(text: string): string {
  return text.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}
