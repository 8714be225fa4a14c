/** Decoding the files sets come in: gzip (by its magic bytes), UTF-8 text, JSON Lines, parquet. */
import { parquetReadObjects } from 'hyparquet';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips when the bytes are gzip (DecompressionStream: browsers and Node 18+), else returns them as they are. */
export async function maybeGunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function readText(bytes: Uint8Array): Promise<string> {
  return new TextDecoder('utf-8').decode(await maybeGunzip(bytes));
}

/** One JSON value per non-empty line; a line that is not JSON throws naming its number. */
export function parseJsonLines(text: string): unknown[] {
  const out: unknown[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new SyntaxError(`Line ${i + 1} is not JSON.`);
    }
  });
  return out;
}

/** A JSON array, or JSON Lines when the text does not start with `[`. */
export function parseJsonArrayOrLines(text: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    const value: unknown = JSON.parse(trimmed);
    if (!Array.isArray(value)) throw new SyntaxError('Expected a JSON array.');
    return value;
  }
  return parseJsonLines(text);
}

export async function readParquet(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file })) as Record<string, unknown>[];
}
