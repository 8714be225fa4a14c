/**
 * The URLs WebLLM fetches a model's files from, worked out without loading WebLLM (the page's verdict store
 * needs them too, and WebLLM is loaded only in the worker).
 */
// WebLLM's cleanModelUrl (idx:11280-11288) appends "resolve/main/" to `model` unless the URL already matches
// this pattern anywhere in its text.
const RESOLVE_PATTERN = /.+\/resolve\/.+\//;

/**
 * The folder WebLLM will fetch a record's files from: `model` with a trailing '/', plus 'resolve/main/'
 * unless it already has a /resolve/<x>/ part (the same steps as cleanModelUrl, idx:11280-11288; files are
 * then resolved with `new URL(name, folder)`, idx:3534-3542, 14918, 8123).
 */
export function webllmFolderUrl(model: string): string {
  let url = model.endsWith('/') ? model : `${model}/`;
  if (!RESOLVE_PATTERN.test(url)) url += 'resolve/main/';
  return new URL('.', new URL(url)).href;
}

/**
 * The `model` string that makes WebLLM fetch from exactly `folder` (which ends in '/' and has no query or
 * fragment). A folder without a /resolve/<x>/ part would get "resolve/main/" appended, so the marker is put
 * in the fragment instead: it satisfies cleanModelUrl's test, and URL resolution of every file name drops
 * the fragment, so the requests go to `folder` itself.
 */
export function webllmModelUrlFor(folder: string): string {
  return RESOLVE_PATTERN.test(folder) ? folder : `${folder}#/resolve/main/`;
}
