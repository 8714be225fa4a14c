/** Reads the `categories` attribute of `<aegis-guard>` into custom categories. */
import type { CustomCategory } from '../core/types.js';

export const categoriesConverter = {
  /** A JSON array (`[{"name":"Competitor Mentions","description":"…"}]`) or comma-separated names. */
  fromAttribute(value: string | null): CustomCategory[] | undefined {
    if (value === null || value.trim() === '') return undefined;
    if (value.trim().startsWith('[')) {
      try {
        return (JSON.parse(value) as Array<string | CustomCategory>).map((c) => (typeof c === 'string' ? { name: c } : c));
      } catch {
        // Passed on as is: the guard rejects it with a clear AegisInputError the element then shows.
        return [{ name: value }];
      }
    }
    return value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)
      .map((name) => ({ name }));
  },
};
