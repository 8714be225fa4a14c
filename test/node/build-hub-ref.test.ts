/**
 * `<owner>/<name>[@<revision>][:<subfolder>]`: seeded round trips over generated ids, revisions and folders,
 * and every malformed spelling refused with a BuildArgumentError that says what is wrong (and, for the usual
 * near-misses, what to write instead).
 */
import { describe, expect, test } from 'vitest';
import { BuildArgumentError } from '../../src/model-builder/errors.js';
import { formatHubRef, isHubRepoId, normalizeSubfolder, parseHubRef, repoPath } from '../../src/model-builder/hub-ref.js';
import { count } from '../../src/model-builder/plural.js';
import { pick, seededRandom } from '../helpers/prng.js';

const WORD = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
const INNER = `${WORD}.-`;

/** A name the Hub accepts: word characters at both ends, '.' and '-' inside, never doubled. */
function segment(rand: () => number): string {
  const n = 1 + Math.floor(rand() * 12);
  let s = pick(rand, WORD);
  for (let i = 1; i < n; i++) {
    const c = pick(rand, INNER);
    s += (c === '.' || c === '-') && /[.-]$/.test(s) ? 'x' : c;
  }
  return /[.-]$/.test(s) ? `${s}0` : s;
}

function revision(rand: () => number): string {
  const kind = Math.floor(rand() * 4);
  if (kind === 0) return 'main';
  if (kind === 1) return Array.from({ length: 40 }, () => pick(rand, '0123456789abcdef')).join('');
  if (kind === 2) return `refs/pr/${1 + Math.floor(rand() * 99)}`;
  return `v${segment(rand)}`;
}

describe('Hub checkpoint refs', () => {
  test('format and parse round-trip (500 seeded refs)', () => {
    const rand = seededRandom(10);
    for (let i = 0; i < 500; i++) {
      const ref = {
        repo: `${segment(rand)}/${segment(rand)}`,
        revision: revision(rand),
        subfolder: Array.from({ length: Math.floor(rand() * 4) }, () => segment(rand)).join('/'),
      };
      const spec = formatHubRef(ref);
      expect(isHubRepoId(ref.repo), ref.repo).toBe(true);
      expect(parseHubRef(spec, '--adapter'), spec).toEqual(ref);
      expect(repoPath(ref, 'adapter_config.json')).toBe(ref.subfolder ? `${ref.subfolder}/adapter_config.json` : 'adapter_config.json');
    }
  });

  test('the AegisGuard 2.0 spellings', () => {
    const folder = 'llama-3.1-nemoguard-8b-content-safety-lora-adapter';
    const repo = 'nvidia/llama-3.1-nemoguard-8b-content-safety';
    expect(parseHubRef(`${repo}:${folder}`, '--adapter')).toEqual({ repo, revision: 'main', subfolder: folder });
    expect(parseHubRef(repo, '--adapter', { subfolder: `${folder}/` })).toEqual({ repo, revision: 'main', subfolder: folder });
    expect(parseHubRef(`${repo}@refs/pr/3:${folder}`, '--adapter')).toEqual({ repo, revision: 'refs/pr/3', subfolder: folder });
    expect(parseHubRef(repo, '--adapter', { revision: 'dev' })).toEqual({ repo, revision: 'dev', subfolder: '' });
    expect(parseHubRef('meta-llama/Llama-3.1-8B-Instruct', '--base')).toEqual({ repo: 'meta-llama/Llama-3.1-8B-Instruct', revision: 'main', subfolder: '' });
  });

  test('an id, not a path: what checkAdapterBase compares and what --base / --adapter download', () => {
    expect(isHubRepoId('nvidia/llama-3.1-nemoguard-8b-content-safety')).toBe(true);
    expect(isHubRepoId('./models/x')).toBe(false);
    expect(isHubRepoId('/abs/path')).toBe(false);
  });

  test('malformed ids are refused (400 seeded corruptions of valid ids)', () => {
    const rand = seededRandom(11);
    const corruptions: Array<(id: string) => string> = [
      (id) => `-${id}`,
      (id) => `${id}-`,
      (id) => `${id}.git`,
      (id) => id.replace('/', '//'),
      (id) => `${id}/extra`,
      (id) => id.replace('/', ''),
      (id) => `${id.slice(0, 1)}--${id.slice(1)}`,
      (id) => `${id}..x`,
      (id) => `${id.split('/')[0]}/${pick(rand, ' !#%&()+,;=[]{}~\'"')}${id.split('/')[1]}`,
      (id) => `${'a'.repeat(97)}/${id.split('/')[1]}`,
    ];
    for (let i = 0; i < 400; i++) {
      const valid = `${segment(rand)}/${segment(rand)}`;
      const bad = corruptions[i % corruptions.length]!(valid);
      expect(isHubRepoId(bad), bad).toBe(false);
      expect(() => parseHubRef(bad, '--base'), bad).toThrow(BuildArgumentError);
    }
  });

  test('subfolders: normalised, but never outside the repo', () => {
    expect(normalizeSubfolder('a//b/', 'x')).toBe('a/b');
    expect(normalizeSubfolder('/a', 'x')).toBe('a');
    expect(normalizeSubfolder('', 'x')).toBe('');
    for (const bad of ['..', 'a/../b', './a', 'a/.', 'a\\b']) expect(() => normalizeSubfolder(bad, '--adapter subfolder'), bad).toThrow(BuildArgumentError);
    expect(() => parseHubRef('a/b:', '--adapter')).toThrow(/the subfolder after ':' is empty/);
    expect(() => parseHubRef('a/b:x', '--adapter', { subfolder: 'y' })).toThrow(/give it once/);
  });

  test('revisions: a branch, tag or commit; nothing a git ref cannot be', () => {
    for (const bad of ['', 'a b', 'a..b', '/main', 'main/', 'a~1', 'a^', 'a?', 'a*', 'a[', 'a\\b']) {
      expect(() => parseHubRef(`a/b@${bad}`, '--base'), bad).toThrow(/is not a valid revision/);
    }
  });

  test('near misses get the spelling to use', () => {
    const hint = (spec: string) => (() => parseHubRef(spec, '--adapter')) as () => never;
    expect(hint('https://huggingface.co/nvidia/guard')).toThrow(/; for that page pass nvidia\/guard$/);
    expect(hint('https://huggingface.co/nvidia/guard/tree/v2/lora/a')).toThrow(/; for that page pass nvidia\/guard@v2:lora\/a$/);
    expect(hint('https://huggingface.co/nvidia/guard/blob/main/lora/adapter_config.json')).toThrow(/; for that page pass nvidia\/guard:lora$/);
    expect(hint('nvidia/guard/lora/a')).toThrow(/write nvidia\/guard:lora\/a \(no such local folder exists\)$/);
    expect(hint('guard')).toThrow(/^--adapter guard is neither a folder nor a Hugging Face id \(owner\/name\[@revision\]\[:subfolder\]\)$/);
  });

  test('counts in messages are pluralised', () => {
    expect(count(1, 'shard')).toBe('1 shard');
    expect(count(0, 'shard')).toBe('0 shards');
    expect(count(2, 'attempt')).toBe('2 attempts');
    expect(count(1, 'entry', 'entries')).toBe('1 entry');
  });
});
