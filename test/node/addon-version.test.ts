// The loader refuses an addon built for another version of the package
// (binding.gyp stamps package.json's version into it): a stale
// build/Release or a prebuilt addon of another release used to load
// silently. EADDON names both versions and how to rebuild; the CLI prints
// that one line (status 1), or for --version the package's version too.
// An addon that does not load at all (none for this machine, or one dlopen
// refuses) is EADDON too, one line with the build: it was a plain Error,
// and the CLI's "unexpected error" with a stack. --help works without the
// addon as --version does (its defaults come from the addon when it loads),
// and so do plugin-path and a usage error other than a ring name's (they
// failed with EADDON: the name rules loaded for every command line).
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkAddonVersion, native } from '../../src/native.js';
import { parseArgs } from '../../src/cli/parse-args.js';
import { repoRoot, run } from './helpers.js';

// each package copy's CLI runs ten times (about half a second each)
jest.setTimeout(60000);

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
      'but this is zerobuffer 9\\.9\\.9-nd.*npm run build:addon.*npm rebuild zerobuffer --build-from-source --ignore-scripts=false')),
  });
  expect(check({})).toMatchObject({ code: 'EADDON', message: expect.stringContaining('an older zerobuffer (no version stamped in it)') });
});

/**
 * dist/ under a package.json of this version, in a temporary directory,
 * with addon (its bytes) as build/Release/zerobuffer.node, or no addon at
 * all (none built nor prebuilt), and the plugin in builddir/gst-plugin;
 * the package is removed after use(dir).
 */
async function withPackageCopy(version: string, addon: Buffer | undefined, use: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'nd-addon-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'zerobuffer', version, type: 'module' }));
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
    if (addon !== undefined) {
      fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'build', 'Release', 'zerobuffer.node'), addon);
    }
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
    // the checkout's plugin, for plugin-path to find (it needs no addon)
    fs.mkdirSync(path.join(dir, 'builddir', 'gst-plugin'), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'builddir', 'gst-plugin', 'libgstzerobuffer.so'), path.join(dir, 'builddir', 'gst-plugin', 'libgstzerobuffer.so'));
    await use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The import of the package copy in dir fails with EADDON and refused as its message; the error is a ZeroBufferError. */
async function expectImportRefused(dir: string, refused: RegExp): Promise<void> {
  const child = run(process.execPath, ['--input-type=module', '-e',
    `const { ZeroBufferError } = await import(${JSON.stringify(path.join(dir, 'dist', 'errors.js'))});` +
    ` try { await import(${JSON.stringify(path.join(dir, 'dist', 'index.js'))}); console.log('loaded'); }` +
    ' catch (e) { console.log(`${e instanceof ZeroBufferError} ${e.code}: ${e.message}`); }']);
  expect(await child.exit(20000)).toBe(0);
  expect(child.stdout).toEqual([expect.stringMatching(new RegExp(`^true EADDON: ${refused.source.slice(1)}`))]);
}

/**
 * The CLI of the package copy in dir: a command says refused in one line,
 * status 1 (it printed "unexpected error" and a stack, or an uncaught
 * stack); --version and --help need no addon: they print, that line as a
 * warning, status 0, the help naming the core's defaults it cannot show.
 * Nor do plugin-path and a usage error that is not a ring name's (they
 * failed with that line too): the core's name rules load only to check a
 * name the command line gives, once the rest of it is checked.
 */
async function expectCliRefused(dir: string, version: string, refused: RegExp): Promise<void> {
  const fails = { status: 1, stdout: '', stderr: [expect.stringMatching(refused)] };
  const warns = (stdout: unknown): unknown => ({ status: 0, stdout, stderr: [expect.stringMatching(refused)] });
  const usage = (message: string, command: string): unknown =>
    ({ status: 2, stdout: '', stderr: [`zerobuffer: ${message}`, `Run "zerobuffer ${command} --help" for the options.`] });
  const cases: [string[], unknown][] = [
    [['cleanup', 'nd-addon-none'], fails],
    [['run', '--name', 'nd-addon-none'], fails],
    [['plugin-path'], { status: 0, stdout: path.join(dir, 'builddir', 'gst-plugin'), stderr: [''] }],
    [['run', '--frames', '0'], usage('--frames expects a whole number of 1 or more, got "0"', 'run')],
    [['run', '--name', 'nd-addon-none', '--frames', '0'], usage('--frames expects a whole number of 1 or more, got "0"', 'run')],
    [['run', '--name', 'nd-addon-none', '--', 'x'], usage('run takes nothing after "--" (only watch, inspect and cleanup do): zerobuffer run [pipeline..]', 'run')],
    [['--version'], warns(version)],
    [['--help'], warns(expect.stringMatching(/^zerobuffer <command> \[options\] Moves video frames/))],
    [['run', '--help'], warns(expect.stringContaining("--metadata-size Metadata block size in bytes (default: the core's ZB_DEFAULT_METADATA_SIZE)"))],
    [['inspect', '--help'], warns(expect.stringContaining("healthy below the core's ZB_BAND_DEGRADED_PERCENT, degraded from"))],
  ];
  for (const [args, expected] of cases) {
    const cli = run(process.execPath, [path.join(dir, 'dist', 'cli', 'bin.js'), ...args]);
    const status = await cli.exit(20000);
    const said = { args, status, stdout: cli.stdout.join(' ').replace(/\s+/g, ' '), stderr: cli.stderr.trimEnd().split('\n') };
    expect(said).toEqual({ args, ...(expected as object) });
  }
}

const REBUILD = /Build it for this machine: "npm run build" in a checkout, "npm rebuild zerobuffer --build-from-source --ignore-scripts=false" in a project \(needs a C\/C\+\+ compiler, python3 and make; npm 12 and later build it only for a package the project allows: "allowScripts": \{"zerobuffer": true\} in its package\.json\)\.$/;

test('with the addon, the help shows the core\'s defaults from it', async () => {
  const help = async (...argv: string[]): Promise<string> => {
    const r = await parseArgs(argv);
    return r.kind === 'help' ? r.text.replace(/\s+/g, ' ') : '';
  };
  expect(await help('run', '--help')).toContain(`Metadata block size in bytes (default: ${native.defaultMetadataSize})`);
  const { degraded, critical } = native.healthBands;
  expect(await help('inspect', '--help')).toContain(`healthy below ${degraded} %, degraded from ${degraded} % to ${critical} %, critical above ${critical} %`);
});

test('a package whose dist/ and build/Release come from different versions does not load', async () => {
  // the real addon under a package.json of another version: what a stale build/Release meets
  await withPackageCopy('0.0.1-nd', fs.readFileSync(path.join(repoRoot, 'build', 'Release', 'zerobuffer.node')), async (dir) => {
    const refused = new RegExp(`^zerobuffer: the native addon ${dir}/build/Release/zerobuffer.node ` +
      `was built for zerobuffer ${version.replace(/\./g, '\\.')}, but this is zerobuffer 0\\.0\\.1-nd.*npm run build:addon`);
    await expectImportRefused(dir, refused);
    await expectCliRefused(dir, '0.0.1-nd', refused);
  });
});

test('a package with no addon for this machine does not load: EADDON, one line with the build', async () => {
  // no build/Release, no prebuilds/: another platform, or a checkout not built
  await withPackageCopy(version, undefined, async (dir) => {
    const refused = new RegExp(`^zerobuffer: cannot load the native addon: No native build was found for platform=${process.platform} ` +
      `arch=${process.arch} .*, loaded from: ${dir}\\. ${REBUILD.source}`);
    await expectImportRefused(dir, refused);
    await expectCliRefused(dir, version, refused);
  });
});

test('a package whose addon dlopen refuses does not load: EADDON, one line with the reason and the build', async () => {
  // a truncated or foreign file (what a copy cut short, or another architecture's build, gives)
  await withPackageCopy(version, Buffer.alloc(4096, 'not a shared library '), async (dir) => {
    const refused = new RegExp(`^zerobuffer: cannot load the native addon: ${dir}/build/Release/zerobuffer\\.node: invalid ELF header\\. ${REBUILD.source}`);
    await expectImportRefused(dir, refused);
    await expectCliRefused(dir, version, refused);
  });
});
