// The loader refuses an addon built for another version of the package
// (binding.gyp stamps package.json's version into it): a stale
// build/Release or a prebuilt addon of another release used to load
// silently. EADDON names both versions and how to rebuild; the CLI prints
// that one line (status 1), or for --version the package's version too.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkAddonVersion, native } from '../../src/native.js';
import { repoRoot, run } from './helpers.js';

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };

test('the addon carries the version of the package.json it was built with', () => {
  expect(native.packageVersion).toBe(version);
  expect(() => checkAddonVersion(native, version, 'zerobuffer.node')).not.toThrow();
});

test('an addon of another version, or one without the stamp, is refused with EADDON naming both versions', () => {
  const check = (addon: object): unknown => {
    try {
      checkAddonVersion(addon, '9.9.9-nd', '/x/build/Release/zerobuffer.node');
    } catch (e) {
      return e;
    }
    return undefined;
  };
  expect(check(native)).toMatchObject({
    name: 'ZeroBufferError', code: 'EADDON',
    message: expect.stringMatching(new RegExp(`/x/build/Release/zerobuffer.node was built for zerobuffer ${version.replace(/\./g, '\\.')}, ` +
      'but this is zerobuffer 9\\.9\\.9-nd.*npm run build:addon.*npm rebuild zerobuffer --build-from-source')),
  });
  expect(check({})).toMatchObject({ code: 'EADDON', message: expect.stringContaining('an older zerobuffer (no version stamped in it)') });
});

test('a package whose dist/ and build/Release come from different versions does not load', async () => {
  // dist/ and the real addon, under a package.json of another version: what a stale build/Release meets
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'nd-addon-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'zerobuffer', version: '0.0.1-nd', type: 'module' }));
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'build', 'Release', 'zerobuffer.node'), path.join(dir, 'build', 'Release', 'zerobuffer.node'));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
    const child = run(process.execPath, ['--input-type=module', '-e',
      `try { await import(${JSON.stringify(path.join(dir, 'dist', 'index.js'))}); console.log('loaded'); }` +
      ' catch (e) { console.log(`${e.code}: ${e.message}`); }']);
    expect(await child.exit(20000)).toBe(0);
    const refused = new RegExp(`^zerobuffer: the native addon ${dir}/build/Release/zerobuffer.node ` +
      `was built for zerobuffer ${version.replace(/\./g, '\\.')}, but this is zerobuffer 0\\.0\\.1-nd.*npm run build:addon`);
    expect(child.stdout.join('\n')).toMatch(new RegExp(`^EADDON: ${refused.source.slice(1)}`));
    // the CLI says so in one line (it printed an 18-line uncaught stack), status 1; --version needs no addon
    for (const args of [['--help'], ['plugin-path'], ['cleanup', 'nd-addon-none'], ['--version']]) {
      const cli = run(process.execPath, [path.join(dir, 'dist', 'cli', 'bin.js'), ...args]);
      const status = await cli.exit(20000);
      const said = { args, status, stdout: cli.stdout, stderr: cli.stderr.trimEnd().split('\n') };
      expect(said).toEqual({
        args, status: args[0] === '--version' ? 0 : 1, stdout: args[0] === '--version' ? ['0.0.1-nd'] : [], stderr: [expect.stringMatching(refused)],
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
