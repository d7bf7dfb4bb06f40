// Installed the way users install it.
// npm: `npm pack` in a copy of the checkout (its files as git lists them;
// prepack builds dist/, the prebuilt addon and the plugin), `npm install` of
// the tarball into an empty project (npm's cache or the registry, nothing
// else from the checkout), then the README's ten-line program against a
// gst-launch-1.0 … ! zerosink that finds the plugin only through
// `zerobuffer plugin-path`, a CommonJS require(), the README's Node and
// Pictures examples through tsc (strict, nodenext; ES module and CommonJS,
// that one at ES2015 too), the shipped documents naming only shipped files
// (or saying which are the repository's),
// `npx zerobuffer run --frames 30 --json` and --help, an install without
// the optional sharp, and one without the prebuilt plugin (another platform)
// where the README's meson commands build the plugin inside the installed
// package, from what the tarball carries alone. The copy keeps the packing away from the checkout's dist/ and
// build/, which other suites use meanwhile.
// meson: `meson install --destdir` of builddir (all of it under the prefix),
// gst-inspect-1.0 zerosink through GST_PLUGIN_PATH, a custom --prefix (the
// plugin under it, nothing elsewhere), the documents, a C program built against
// the installed zerobuffer.pc, a `meson setup` with no node on the PATH, and
// one with -Dtests=disabled and no gstreamer-check-1.0 (introspected, not built).
import { jest } from '@jest/globals';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { leftovers, repoRoot, ringName } from './helpers.js';

jest.setTimeout(600000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-install-'));
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const platform = `${process.platform}-${process.arch}`;

/** The environment of a user's shell: no jest options, no GST_PLUGIN_PATH, a registry of our own. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GST_REGISTRY_1_0: path.join(tmp, 'registry.bin'), ...extra };
  delete env['NODE_OPTIONS'];
  if (extra['GST_PLUGIN_PATH'] === undefined) delete env['GST_PLUGIN_PATH'];
  return env;
}

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

describe('the npm package', () => {
  const copy = path.join(tmp, 'checkout');
  const project = path.join(tmp, 'project');
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\0').filter((f) => f !== '' && fs.existsSync(path.join(repoRoot, f)));
    for (const f of listed) fs.cpSync(path.join(repoRoot, f), path.join(copy, f));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
    const packed = await execa('npm', ['pack', '--pack-destination', tmp], { cwd: copy, env: userEnv(), all: true, reject: false });
    if (packed.exitCode !== 0) throw new Error(`npm pack failed:\n${packed.all}`);
    tarball = path.join(tmp, `zerobuffer-${version}.tgz`);
    files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'zb-user', private: true, type: 'module' }));
    const installed = await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: project, env: userEnv(), all: true, reject: false });
    if (installed.exitCode !== 0) throw new Error(`npm install failed:\n${installed.all}`);
  });

  test('the tarball holds what users need and nothing else', () => {
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/bin.js',
      `prebuilds/${platform}/zerobuffer.glibc.node`, `prebuilds/${platform}/gstreamer-1.0/libgstzerobuffer.so`,
      'native/addon/binding.cc', 'native/core/include/zerobuffer.h', 'native/core/src/zb_reader.c',
      'meson.build', 'meson_options.txt', 'native/core/meson.build', 'native/core/zerobuffer.map', 'gst-plugin/meson.build', 'gst-plugin/gstzerosink.c'])
      expect(files).toContain(f);
    // no tests, benches, scripts or the checkout's tools (native/core/tools)
    const unexpected = files.filter((f) => !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|binding\.gyp|docs\/(PROTOCOL|DUPLEX|GUARANTEES|SOAK)\.md|meson\.build|meson_options\.txt|native\/core\/(meson\.build|zerobuffer\.map)|gst-plugin\/(meson\.build|README\.md|\w+\.[ch]))$|^(dist|prebuilds|native\/addon|native\/core\/(src|include))\//.test(f));
    expect(unexpected).toEqual([]);
    expect(files.filter((f) => /\.[jt]s\.map$/.test(f))).toEqual([]); // source maps (zerobuffer.map is the library's version script)
    // a stray large file: the list above keeps the rest out (1 MiB was passed at 1,050,748 bytes by docs and sources)
    expect(fs.statSync(tarball).size).toBeLessThan(1.25 * (1 << 20));
  });

  test('the documents that the README links to or names, and the files the type declarations, the JavaScript and zerobuffer.h name, are in it', () => {
    const pkg = path.join(project, 'node_modules', 'zerobuffer');
    const readme = fs.readFileSync(path.join(pkg, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const links = [...readme.matchAll(/\]\((?!https?:|#)([^)#]+)/g)].map((m) => m[1]!);
    expect(links).toContain('docs/PROTOCOL.md');
    // There is no public repository to send a user to: only what the text
    // itself says stays there ("in the repository") may be missing.
    const onlyThere = '(?![^.;)]*in the repository)';
    // The README names the checkout's tests and scripts as such; its documents a user must find.
    const documents = [...readme.matchAll(new RegExp(`\\b(?:docs|gst-plugin|scripts|test|src|native)/[\\w./-]*\\.md\\b${onlyThere}`, 'g'))].map((m) => m[0]);
    expect(documents).toContain('gst-plugin/README.md');
    const checkoutPath = new RegExp(`\\b(?:docs|gst-plugin|scripts|test|src|native)/[\\w./-]*\\w\\.[a-z]+\\b${onlyThere}`, 'g');
    const named = files.filter((f) => /\.(d\.ts|js)$/.test(f) || f.endsWith('zerobuffer.h'))
      .flatMap((f) => [...fs.readFileSync(path.join(pkg, f), 'utf8').replace(/\s+/g, ' ').matchAll(checkoutPath)].map((m) => m[0]));
    expect(named).toContain('docs/DUPLEX.md');
    expect(named).toContain('gst-plugin/README.md');
    expect([...new Set([...links, ...documents, ...named])].filter((f) => !files.includes(f))).toEqual([]);
  });

  test('every document it ships links only to files it ships, and names files it does not ship only as the repository\'s', () => {
    const pkg = path.join(project, 'node_modules', 'zerobuffer');
    const ships = (f: string): boolean => files.includes(f) || files.some((g) => g.startsWith(`${f.replace(/\/$/, '')}/`));
    const glob = (p: string): RegExp =>
      new RegExp(`^${p.split('**/').map((part) => part.replaceAll('.', '\\.').replaceAll('*', '[^/]*')).join('(?:.*/)?')}$`);
    const documents = files.filter((f) => f.endsWith('.md'));
    expect(documents).toEqual(expect.arrayContaining(['README.md', 'docs/GUARANTEES.md', 'gst-plugin/README.md']));
    const wrong: string[] = [];
    for (const doc of documents) {
      const text = fs.readFileSync(path.join(pkg, doc), 'utf8').replace(/\s+/g, ' ');
      for (const [, target] of text.matchAll(/\]\((?!https?:|#)([^)#\s]+)/g)) {
        if (!ships(path.posix.join(path.posix.dirname(doc), target!))) wrong.push(`${doc} links ${target}`);
      }
      // the changelog names the files each change touched, as the repository had them
      if (doc === 'CHANGELOG.md') continue;
      // "Files under `test/` and `scripts/` are the repository's: the npm package ... carries none of them."
      const note = /[Ff]iles under ((?:`[\w./-]+\/`(?:, | and )?)+) are the repository's: the npm package (?:and meson install )?carr(?:y|ies) none of them/.exec(text);
      const elsewhere = note === null ? [] : [...note[1]!.matchAll(/`([\w./-]+\/)`/g)].map((m) => m[1]!);
      wrong.push(...elsewhere.filter((d) => ships(d)).map((d) => `${doc} says ${d} is not shipped`));
      for (const [named] of text.matchAll(/(?<![\w./-])(?:docs|gst-plugin|scripts|test|src|native|\.ci)\/[\w./*-]*\w\.[a-z]+\b(?![^.;)]*in the repository)/g)) {
        const found = named.includes('*') ? files.some((f) => glob(named).test(f)) : ships(named);
        if (!found && !elsewhere.some((d) => named.startsWith(d))) wrong.push(`${doc} names ${named}`);
      }
    }
    expect([...new Set(wrong)]).toEqual([]);
  });

  test('its JavaScript names no source map: none is shipped (src/ is not), and a missing one makes bundlers warn', () => {
    const pkg = path.join(project, 'node_modules', 'zerobuffer');
    const naming = files.filter((f) => f.endsWith('.js') && fs.readFileSync(path.join(pkg, f), 'utf8').includes('sourceMappingURL'));
    expect(naming).toEqual([]);
  });

  test('the prebuilt files need at most glibc 2.34 and GCC 11\'s libstdc++ (RHEL 9, Amazon Linux 2023)', () => {
    const pkg = path.join(project, 'node_modules', 'zerobuffer');
    const limits: Record<string, string> = { GLIBC: '2.34', GLIBCXX: '3.4.29', CXXABI: '1.3.13' };
    const newer = (a: string, b: string): boolean => {
      const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
      return false;
    };
    for (const f of [`prebuilds/${platform}/zerobuffer.glibc.node`, `prebuilds/${platform}/gstreamer-1.0/libgstzerobuffer.so`]) {
      const needs = [...execFileSync('objdump', ['-T', path.join(pkg, f)], { encoding: 'utf8' }).matchAll(/\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)/g)];
      expect(needs.length).toBeGreaterThan(0);
      expect(needs.filter((m) => newer(m[2]!, limits[m[1]!]!)).map((m) => `${f}: ${m[1]}_${m[2]}`)).toEqual([]);
    }
  });

  test('it installs with no build step: the prebuilt addon is used', () => {
    const pkg = path.join(project, 'node_modules', 'zerobuffer');
    expect(fs.existsSync(path.join(pkg, 'prebuilds', platform, 'zerobuffer.glibc.node'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    expect(fs.existsSync(path.join(project, 'node_modules', 'node-addon-api'))).toBe(true); // for the from-source fallback
  });

  test('the README program reads a gst-launch-1.0 … ! zerosink that finds the plugin through `zerobuffer plugin-path`', async () => {
    const pluginPath = (await execa('npx', ['zerobuffer', 'plugin-path'], { cwd: project, env: userEnv() })).stdout.trim();
    expect(pluginPath).toBe(path.join(project, 'node_modules', 'zerobuffer', 'prebuilds', platform, 'gstreamer-1.0'));
    const gstEnv = userEnv({ GST_PLUGIN_PATH: pluginPath });
    const inspect = await execa('gst-inspect-1.0', ['zerosink'], { env: gstEnv });
    expect(inspect.stdout).toContain(path.join(pluginPath, 'libgstzerobuffer.so'));

    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const program = /ten-line program:\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(program).toBeDefined();
    const name = ringName('readme');
    fs.writeFileSync(path.join(project, 'readme.mjs'), program!.replaceAll('cam0', name));
    const reader = execa('node', ['readme.mjs'], { cwd: project, env: userEnv(), all: true, reject: false, timeout: 60000 });
    const waiting = new Promise<void>((resolve) => {
      reader.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('waiting on')) resolve();
      });
    });
    await Promise.race([waiting, reader]); // a reader that died is reported below
    const writer = await execa('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=30', '!', 'zerosink', `buffer-name=${name}`],
      { env: gstEnv, all: true, reject: false, timeout: 60000 });
    expect(writer.all).toBe('');
    expect(writer.exitCode).toBe(0);
    const r = await reader;
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/^caps: video\/x-raw, format=\(string\)RGB, width=\(int\)320, height=\(int\)240/);
    const frames = lines.filter((l) => l.startsWith('#'));
    expect(frames).toHaveLength(30);
    frames.forEach((l, i) => expect(l).toBe(`#${i + 1} 230400 bytes RGB 320x240 pts=-`));
  });

  test('CommonJS code requires it (Node >= 20.19 loads ES modules with no top-level await through require)', async () => {
    const r = await execa('node', ['-e', "const z = require('zerobuffer'); import('zerobuffer').then((m) => console.log(z === m, typeof z.ZeroBufferReader))"],
      { cwd: project, env: userEnv() });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('true function');
  });

  test('without its optional dependency (--omit=optional, no sharp): JPEG/PNG work says so, the rest works, the types check', async () => {
    const slim = path.join(tmp, 'slim');
    fs.mkdirSync(slim);
    fs.writeFileSync(path.join(slim, 'package.json'), JSON.stringify({ name: 'zb-slim', private: true, type: 'module' }));
    const installed = await execa('npm', ['install', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: slim, env: userEnv(), all: true, reject: false });
    if (installed.exitCode !== 0) throw new Error(`npm install failed:\n${installed.all}`);
    expect(fs.existsSync(path.join(slim, 'node_modules', 'sharp'))).toBe(false);
    expect(fs.existsSync(path.join(slim, 'node_modules', 'zerobuffer'))).toBe(true);
    const program = [
      "import { decodeImage, toRGB } from 'zerobuffer';",
      'const gray = { width: 2, height: 1, channels: 1, format: \'GRAY8\', stride: 2, bitsPerSample: 8, planes: [{ offset: 0, stride: 2, height: 1 }], data: new Uint8Array([7, 9]), encoded: false };',
      'console.log(Array.from(toRGB(gray).data).join(","));',
      "const jpeg = { width: 2, height: 1, channels: 3, format: 'JPEG', stride: 0, bitsPerSample: 8, planes: [], data: new Uint8Array([0xff, 0xd8]), encoded: true, mimeType: 'image/jpeg' };",
      'await decodeImage(jpeg).then(() => console.log("decoded"), (e) => console.log(e.code, e.message));',
    ].join('\n');
    fs.writeFileSync(path.join(slim, 'slim.mjs'), program);
    const r = await execa('node', ['slim.mjs'], { cwd: slim, env: userEnv(), reject: false });
    expect(r.stderr).toBe('');
    const [rgb, failure] = r.stdout.split('\n');
    expect(rgb).toBe('7,7,7,9,9,9');
    expect(failure).toMatch(/^ENODECODER decoding and PNG encoding need the "sharp" package .*optional dependency: npm install sharp/);

    const snapshot = await execa('npx', ['zerobuffer', 'run', '--frames', '1', '--snapshot', path.join(slim, 'cam.png')],
      { cwd: slim, env: userEnv(), all: true, reject: false, timeout: 60000 });
    expect(snapshot.all).toMatch(/^zerobuffer run: --snapshot cannot write PNG files: decoding and PNG encoding need the "sharp" package/);
    expect(snapshot.exitCode).toBe(EXIT.usage);
    expect(fs.existsSync(path.join(slim, 'cam.png'))).toBe(false);

    fs.writeFileSync(path.join(slim, 'tsconfig.json'), JSON.stringify({
      // types: [] as `tsc --init` (5.9) writes it: the declarations pull in Node's types themselves
      compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true,
        types: [], typeRoots: [path.join(repoRoot, 'node_modules', '@types')] },
      files: ['slim.ts'],
    }));
    fs.writeFileSync(path.join(slim, 'slim.ts'), "import { decodeImage, encodePng, type Image } from 'zerobuffer';\n" +
      'export const use = (img: Image): Promise<unknown> => Promise.all([decodeImage(img), encodePng(img)]);\n');
    const tsc = await execa(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', slim], { cwd: slim, env: userEnv(), all: true, reject: false });
    expect(tsc.all).toBe('');
    expect(tsc.exitCode).toBe(0);
  });

  test('the README\'s Node and Pictures examples type-check in a strict "module": "nodenext" project, ES module and CommonJS (that one at ES2015, the lowest target, too)', async () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const node = /ten-line program:\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const pictures = /## Pictures\n[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(node).toBeDefined();
    expect(pictures).toBeDefined();
    const dir = path.join(tmp, 'ts-user');
    fs.mkdirSync(path.join(dir, 'cjs'), { recursive: true });
    fs.symlinkSync(path.join(project, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.writeFileSync(path.join(dir, 'cjs', 'package.json'), JSON.stringify({ type: 'commonjs' }));
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      // types: [] as `tsc --init` (5.9) writes it: the declarations pull in Node's types themselves
      compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true,
        types: [], typeRoots: [path.join(repoRoot, 'node_modules', '@types')] },
    }));
    fs.writeFileSync(path.join(dir, 'node.ts'), node!);
    fs.writeFileSync(path.join(dir, 'pictures.ts'), pictures!); // as written: it defines all it uses
    // CommonJS: no top-level await, so the same lines in an async function.
    fs.writeFileSync(path.join(dir, 'cjs', 'node.ts'), node!.replace(/^(import .*\n)([\s\S]*)$/, '$1void (async () => {\n$2})();\n'));
    const tsc = await execa(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', dir], { cwd: dir, env: userEnv(), all: true, reject: false });
    expect(tsc.all).toBe('');
    expect(tsc.exitCode).toBe(0);
    // the README's lowest target: the CommonJS one has no top-level await, which ES2017 needs
    fs.writeFileSync(path.join(dir, 'tsconfig.es2015.json'), JSON.stringify({
      extends: './tsconfig.json', compilerOptions: { target: 'es2015' }, files: ['cjs/node.ts'] }));
    const es2015 = await execa(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', path.join(dir, 'tsconfig.es2015.json')],
      { cwd: dir, env: userEnv(), all: true, reject: false });
    expect(es2015.all).toBe('');
    expect(es2015.exitCode).toBe(0);
  });

  test('npx zerobuffer run --frames 30 --json, and --help', async () => {
    const run = await execa('npx', ['zerobuffer', 'run', '--frames', '30', '--json'], { cwd: project, env: userEnv(), reject: false, timeout: 60000 });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(EXIT.ok);
    const summary = run.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['type'] === 'summary');
    expect(summary).toMatchObject({ frames: 30, bytes: 30 * 640 * 480 * 3, pipeline: 'exited', restarts: 0 });
    const help = await execa('npx', ['zerobuffer', '--help'], { cwd: project, env: userEnv() });
    expect(help.stdout).toMatch(/zerobuffer run \[pipeline\.\.\]/);
    expect(help.stdout).toMatch(/zerobuffer plugin-path/);
  });

  test('without a prebuilt plugin (another platform), the README\'s meson commands build it in the installed package, which plugin-path and run then use; its meson install installs what the checkout\'s does', async () => {
    const other = path.join(tmp, 'other-platform');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'package.json'), JSON.stringify({ name: 'zb-other', private: true, type: 'module' }));
    const installed = await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: other, env: userEnv(), all: true, reject: false });
    if (installed.exitCode !== 0) throw new Error(`npm install failed:\n${installed.all}`);
    const pkg = path.join(other, 'node_modules', 'zerobuffer');
    // npm's install on arm64 or musl: the addon built from source (here the prebuilt one stays), no plugin
    fs.rmSync(path.join(pkg, 'prebuilds', platform, 'gstreamer-1.0'), { recursive: true });
    const none = await execa('npx', ['zerobuffer', 'plugin-path'], { cwd: other, env: userEnv(), all: true, reject: false });
    expect(none.exitCode).toBe(EXIT.internal);
    expect(none.all).toContain(`build it in this package with meson (in ${pkg}: meson setup builddir && meson compile -C builddir;`);

    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const build = /^cd node_modules\/zerobuffer && meson setup builddir && meson compile -C builddir$/m.exec(readme)?.[0];
    expect(build).toBeDefined();
    const built = await execa('sh', ['-c', build!], { cwd: other, env: userEnv(), all: true, reject: false, timeout: 300000 });
    if (built.exitCode !== 0) throw new Error(`${build} failed:\n${built.all}`);
    expect(built.all).toContain('no test/ (the npm package carries none): no test is built');
    const enabled = await execa('meson', ['setup', path.join(tmp, 'other-platform-tests'), '-Dtests=enabled'], { cwd: pkg, env: userEnv(), all: true, reject: false });
    expect(enabled.exitCode).not.toBe(0);
    expect(enabled.all).toContain('-Dtests=enabled: there is no test/ here (the npm package carries none); the tests run in a checkout');

    const pluginPath = (await execa('npx', ['zerobuffer', 'plugin-path'], { cwd: other, env: userEnv() })).stdout.trim();
    expect(pluginPath).toBe(path.join(pkg, 'builddir', 'gst-plugin'));
    const inspect = await execa('gst-inspect-1.0', ['zerosink'], { env: userEnv({ GST_PLUGIN_PATH: pluginPath }) });
    expect(inspect.stdout).toContain(path.join(pluginPath, 'libgstzerobuffer.so'));
    expect(inspect.stdout).toMatch(new RegExp(`Version\\s+${version.replaceAll('.', '\\.')}`));
    const run = await execa('npx', ['zerobuffer', 'run', '--frames', '30', '--json'], { cwd: other, env: userEnv(), reject: false, timeout: 60000 });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(EXIT.ok);
    expect(run.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['type'] === 'summary'))
      .toMatchObject({ frames: 30, pipeline: 'exited', restarts: 0 });

    // the files and links, under the same default prefix as the checkout's builddir (scripts/build.sh)
    const dest = path.join(tmp, 'other-platform-destdir');
    const install = await execa('meson', ['install', '-C', path.join(pkg, 'builddir'), '--destdir', dest], { env: userEnv(), all: true, reject: false });
    if (install.exitCode !== 0) throw new Error(`meson install failed:\n${install.all}`);
    const checkout = Object.values(JSON.parse(execFileSync('meson', ['introspect', '--installed', path.join(repoRoot, 'builddir')], { encoding: 'utf8' })) as Record<string, string>);
    expect(execFileSync('find', [dest, '-not', '-type', 'd'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.slice(dest.length)).sort())
      .toEqual(checkout.sort());
  });
});

describe('meson install', () => {
  const destdir = path.join(tmp, 'destdir');
  const pkgconfig = (args: string[], env: NodeJS.ProcessEnv = {}): string =>
    execFileSync('pkg-config', args, { encoding: 'utf8', env: { ...process.env, ...env } }).trim();

  beforeAll(async () => {
    const r = await execa('meson', ['install', '-C', path.join(repoRoot, 'builddir'), '--destdir', destdir], { all: true, reject: false });
    if (r.exitCode !== 0) throw new Error(`meson install failed:\n${r.all}`);
  });

  /** A meson build directory's option, as `meson introspect` tells it. */
  const option = (builddir: string, name: string): string =>
    (JSON.parse(execFileSync('meson', ['introspect', '--buildoptions', builddir], { encoding: 'utf8' })) as { name: string; value: unknown }[])
      .find((o) => o.name === name)!.value as string;
  /** The files and links under `root` that are not under `inside`. */
  const outside = (root: string, inside: string): string[] =>
    execFileSync('find', [root, '-not', '-type', 'd'], { encoding: 'utf8' }).split('\n').filter(Boolean)
      .filter((f) => !f.startsWith(inside + path.sep));

  test('the plugin goes under the prefix, <prefix>/<libdir>/gstreamer-1.0 as in GStreamer\'s own modules, nothing outside it; gst-inspect-1.0 finds it through GST_PLUGIN_PATH', async () => {
    const builddir = path.join(repoRoot, 'builddir');
    const prefix = option(builddir, 'prefix');
    expect(outside(destdir, path.join(destdir, prefix))).toEqual([]);
    const pluginDir = path.join(destdir, path.resolve(prefix, option(builddir, 'libdir')), 'gstreamer-1.0');
    expect(fs.readdirSync(pluginDir)).toEqual(['libgstzerobuffer.so']);
    const r = await execa('gst-inspect-1.0', ['zerosink'], { env: userEnv({ GST_PLUGIN_PATH: pluginDir }), reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(path.join(pluginDir, 'libgstzerobuffer.so'));
    expect(r.stdout).toMatch(/Version\s+0\.1\.0/);
  });

  test('with a custom --prefix, meson install writes nothing outside it (as root too: not into GStreamer\'s plugin directory); --prefix=/usr is GStreamer\'s own, -Dgst_plugins_dir wins; setup names the directory', async () => {
    // --destdir: the old default (GStreamer's pluginsdir, whatever the
    // prefix) lands in it rather than on this machine, and shows there.
    const prefix = path.join(tmp, 'custom-prefix');
    const build = path.join(tmp, 'custom-build');
    const dest = path.join(tmp, 'custom-destdir');
    const own = path.join(tmp, 'own-plugins');
    const setup = (dir: string, ...args: string[]) =>
      execa('meson', ['setup', path.join(tmp, dir), '-Dtests=disabled', ...args], { cwd: repoRoot, all: true, reject: false });
    const [custom, usr, chosen] = await Promise.all([setup('custom-build', `--prefix=${prefix}`),
      setup('usr-build', '--prefix=/usr'), setup('chosen-build', `--prefix=${prefix}`, `-Dgst_plugins_dir=${own}`)]);
    for (const r of [custom, usr, chosen]) expect(r.exitCode).toBe(0);
    const pluginDir = path.join(path.resolve(prefix, option(build, 'libdir')), 'gstreamer-1.0');
    const systemDir = pkgconfig(['--variable=pluginsdir', 'gstreamer-1.0']);

    const installed = await execa('meson', ['install', '-C', build, '--destdir', dest], { all: true, reject: false });
    if (installed.exitCode !== 0) throw new Error(`meson install failed:\n${installed.all}`);
    expect(outside(dest, path.join(dest, prefix))).toEqual([]);
    expect(fs.existsSync(path.join(dest, pluginDir, 'libgstzerobuffer.so'))).toBe(true);

    const plugin = (dir: string): string[] => Object.values(JSON.parse(execFileSync('meson', ['introspect', '--installed', path.join(tmp, dir)],
      { encoding: 'utf8' })) as Record<string, string>).filter((f) => f.endsWith('/libgstzerobuffer.so'));
    expect(plugin('usr-build')).toEqual([path.join(systemDir, 'libgstzerobuffer.so')]);
    expect(plugin('chosen-build')).toEqual([path.join(own, 'libgstzerobuffer.so')]);
    expect(custom.all).toContain(`GStreamer plugin directory: ${pluginDir} (GStreamer finds it with GST_PLUGIN_PATH=${pluginDir}; its own directory is ${systemDir})`);
    expect(usr.all).toContain(`GStreamer plugin directory: ${systemDir} (GStreamer looks there by itself)`);
  });

  test('the documents zerobuffer.h and they refer to, the licence and the changelog are installed next to it, in <datadir>/doc/zerobuffer', () => {
    const header = execFileSync('find', [destdir, '-name', 'zerobuffer.h'], { encoding: 'utf8' }).trim();
    expect(header).not.toBe('');
    const named = new Set([...fs.readFileSync(header, 'utf8').matchAll(/\bdocs\/([A-Z]+\.md)(?! in the repository)/g)].map((m) => m[1]!));
    expect(named).toContain('PROTOCOL.md');
    const docDir = path.join(destdir, pkgconfig(['--variable=prefix', 'zerobuffer'],
      { PKG_CONFIG_PATH: path.dirname(execFileSync('find', [destdir, '-name', 'zerobuffer.pc'], { encoding: 'utf8' }).trim()) }), 'share', 'doc', 'zerobuffer');
    expect([...named].filter((f) => !fs.existsSync(path.join(docDir, f)))).toEqual([]);
    expect(fs.readdirSync(docDir).sort()).toEqual(['CHANGELOG.md', 'DUPLEX.md', 'GUARANTEES.md', 'LICENSE', 'PROTOCOL.md', 'SOAK.md', 'gst-plugin']);
    // what those send their readers to: the elements' reference and error kinds
    expect(fs.readdirSync(path.join(docDir, 'gst-plugin'))).toEqual(['README.md']);
  });

  test('a checkout configures without Node: C and GStreamer users need none', async () => {
    // A PATH of everything the user's PATH has, except node.
    const bin = path.join(tmp, 'no-node-bin');
    fs.mkdirSync(bin);
    // the first of a name wins, as in a PATH lookup; by name, not by
    // existsSync, which a dangling link (a stray node_modules/.bin entry) fools
    const linked = new Set(['node', 'nodejs']);
    for (const dir of (process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '' && fs.existsSync(d))) {
      for (const name of fs.readdirSync(dir)) {
        if (linked.has(name)) continue;
        linked.add(name);
        fs.symlinkSync(path.join(dir, name), path.join(bin, name));
      }
    }
    const r = await execa('meson', ['setup', path.join(tmp, 'no-node-build')],
      { cwd: repoRoot, env: { ...process.env, PATH: bin }, all: true, reject: false });
    expect(r.all).toContain('node not found: the gst-api-version test is left out');
    expect(r.exitCode).toBe(0);
  });

  test('-Dtests=disabled (packagers) needs neither gstreamer-check-1.0 nor gstreamer-app-1.0, builds no test target and installs the same files', async () => {
    // pkg-config without those two: a search path of links to every other .pc.
    const pcDir = path.join(tmp, 'pc-without-check');
    fs.mkdirSync(pcDir);
    const searched = [...(process.env['PKG_CONFIG_PATH'] ?? '').split(path.delimiter),
      ...execFileSync('pkg-config', ['--variable=pc_path', 'pkg-config'], { encoding: 'utf8' }).trim().split(path.delimiter)];
    for (const dir of searched.filter((d) => d !== '' && fs.existsSync(d))) {
      for (const name of fs.readdirSync(dir)) {
        if (!name.endsWith('.pc') || /^gstreamer-(check|app)-1\.0\.pc$/.test(name) || fs.existsSync(path.join(pcDir, name))) continue;
        fs.symlinkSync(path.join(dir, name), path.join(pcDir, name));
      }
    }
    const hidden: NodeJS.ProcessEnv = { ...process.env, PKG_CONFIG_LIBDIR: pcDir };
    delete hidden['PKG_CONFIG_PATH'];
    expect(() => execFileSync('pkg-config', ['--exists', 'gstreamer-check-1.0'], { env: hidden })).toThrow();
    const setup = (name: string, tests: string, env: NodeJS.ProcessEnv) =>
      execa('meson', ['setup', path.join(tmp, name), `-Dtests=${tests}`], { cwd: repoRoot, env, all: true, reject: false });
    const [full, disabled, enabled, auto] = await Promise.all([setup('tests-auto', 'auto', process.env),
      setup('tests-disabled', 'disabled', hidden), setup('tests-enabled-hidden', 'enabled', hidden), setup('tests-auto-hidden', 'auto', hidden)]);
    expect(full.exitCode).toBe(0);
    expect(disabled.exitCode).toBe(0);
    expect(disabled.all).not.toMatch(/gstreamer-(check|app)/);
    // enabled (our scripts) fails loudly instead; auto leaves out what needs them, and says so.
    expect(enabled.exitCode).not.toBe(0);
    expect(enabled.all).toMatch(/Dependency "gstreamer-check-1\.0" not found/);
    expect(auto.exitCode).toBe(0);
    expect(auto.all).toContain('the gst-elements, gst-filter-element and leak-gst tests are left out');
    const introspect = (name: string, what: string): unknown =>
      JSON.parse(execFileSync('meson', ['introspect', what, path.join(tmp, name)], { encoding: 'utf8' }));
    const targets = (name: string): string[] => (introspect(name, '--targets') as { name: string; defined_in: string }[])
      .filter((t) => t.defined_in.startsWith(path.join(repoRoot, 'test') + path.sep)).map((t) => t.name);
    expect(targets('tests-auto')).toContain('zb-peer');
    expect(targets('tests-disabled')).toEqual([]);
    expect(introspect('tests-disabled', '--tests')).toEqual([]);
    const installed = (name: string): string[] => Object.values(introspect(name, '--installed') as Record<string, string>).sort();
    expect(installed('tests-auto').filter((f) => /\/(include\/zerobuffer\.h|libzerobuffer\.so\.0|libgstzerobuffer\.so)$/.test(f))).toHaveLength(3);
    expect(installed('tests-disabled')).toEqual(installed('tests-auto'));
  });

  test('a C program builds against the installed zerobuffer.pc and moves a frame', async () => {
    const pc = execFileSync('find', [destdir, '-name', 'zerobuffer.pc'], { encoding: 'utf8' }).trim();
    expect(pc).not.toBe('');
    // The .pc names the final prefix; the sysroot points pkg-config at the destdir.
    const env = { PKG_CONFIG_PATH: path.dirname(pc), PKG_CONFIG_SYSROOT_DIR: destdir };
    expect(pkgconfig(['--modversion', 'zerobuffer'], env)).toBe(version);
    const flags = pkgconfig(['--cflags', '--libs', 'zerobuffer'], env).split(/\s+/);
    const libdir = flags.find((f) => f.startsWith('-L'))!.slice(2);
    expect(fs.readlinkSync(path.join(libdir, 'libzerobuffer.so'))).toBe('libzerobuffer.so.0');
    expect(execFileSync('readelf', ['-d', path.join(libdir, 'libzerobuffer.so.0')], { encoding: 'utf8' })).toMatch(/SONAME.*\[libzerobuffer\.so\.0\]/);
    const exe = path.join(tmp, 'ring-roundtrip');
    execFileSync('cc', ['-std=c11', '-Wall', '-Werror', '-o', exe, path.join(repoRoot, 'test', 'install', 'ring-roundtrip.c'), ...flags]);
    const out = execFileSync(exe, [ringName('c')], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: libdir } });
    expect(out).toBe(`${version} ${version} hello #1\n`);
  });
});
