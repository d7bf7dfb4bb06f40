// README's "Error codes" table against the sources: every code an error of
// the package can carry (a `code:` literal in src/, one the addon sets, the
// core's names from ZB_ERRNO_MAP and zb_err_name's fallback) has its row, and
// every row's code is one of them, so the table stays true as codes come and go.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers.js';

function filesUnder(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f)).map((f) => path.join(dir, f));
}

function codesInSources(): Set<string> {
  const codes = new Set<string>();
  const add = (text: string, re: RegExp): void => {
    for (const m of text.matchAll(re)) for (const c of m[1]!.matchAll(/['"](E[A-Z0-9_]+)['"]/g)) codes.add(c[1]!);
  };
  // `code: 'EX'`, `code: cond ? 'EX' : 'EY'` (an option object's or an event's), up to the next , or }
  for (const file of filesUnder(path.join(repoRoot, 'src'), /\.ts$/)) add(fs.readFileSync(file, 'utf8'), /\bcode:\s*([^,}\n]+)/g);
  // the addon's own: e.Set("code", Napi::String::New(env, "EX"))
  for (const file of filesUnder(path.join(repoRoot, 'native', 'addon'), /\.(cc|h)$/))
    add(fs.readFileSync(file, 'utf8'), /Set\("code",([^;]+);/g);
  const core = path.join(repoRoot, 'native', 'core');
  for (const m of fs.readFileSync(path.join(core, 'include', 'zerobuffer.h'), 'utf8').matchAll(/^\s*XX\((E[A-Z0-9_]+),/gm)) codes.add(m[1]!);
  // zb_err_name's name for a code the map lacks
  add(fs.readFileSync(path.join(core, 'src', 'zb_error.c'), 'utf8'), /^\s*return ("E[A-Z]+");/gm);
  return codes;
}

function codesInReadme(): Set<string> {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### Error codes\n');
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const codes = new Set<string>();
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const m of row.split('|')[1]!.matchAll(/`(E[A-Z0-9_]+)`/g)) codes.add(m[1]!);
  }
  return codes;
}

test('README\'s Error codes table has a row for every code the sources make, and no code they do not', () => {
  const made = codesInSources();
  // the ways codes are made, each found (else the search above went blind)
  for (const code of ['EHANDLER', 'EPIPELINE_REJECTED', 'EFORMAT', 'EOF', 'EUNKNOWN', 'EWRITERDEAD', 'EINVAL']) expect(made).toContain(code);
  const documented = codesInReadme();
  expect([...made].filter((c) => !documented.has(c)).sort()).toEqual([]);
  expect([...documented].filter((c) => !made.has(c)).sort()).toEqual([]);
});
