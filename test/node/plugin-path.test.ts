// How run (and every PipelineRunner) gives gst-launch the zerobuffer plugin,
// end to end with real gst-launch runs: the user's plugin path first
// (GST_PLUGIN_PATH_1_0 when set, as GStreamer reads that one instead), then
// --plugin-path or this package's own plugin, without a gst-inspect before
// the run; a plugin file that does not load is told with GStreamer's reason;
// `zerobuffer plugin-path` in a package without a plugin names the one
// GStreamer finds, without touching the user's registry. GStreamer's own
// directories are replaced by one of the test's (the plugins the runs need,
// not ours): a zerobuffer plugin installed on the machine (meson install)
// must change no outcome.
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { builtPluginDir, resolvePluginPath } from '../../src/runner/plugin-path.js';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const PLUGIN = path.join(builtPluginDir, 'libgstzerobuffer.so');
const SOURCE = 'videotestsrc ! video/x-raw,format=GRAY8,width=16,height=16';

let tmp: string;
let registry: string;
/** No plugin path of the jest run's own, and GStreamer's directories replaced by the test's (see beforeAll). */
let NO_USER_PATH: NodeJS.ProcessEnv;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-plugin-path-'));
  registry = path.join(tmp, 'registry.bin');
  // GStreamer's own directories as the test's: the plugins SOURCE needs, where GStreamer has them, and no zerobuffer plugin
  const system = dir('system');
  for (const element of ['videotestsrc', 'capsfilter']) {
    const said = execFileSync('gst-inspect-1.0', [element], {
      encoding: 'utf8', timeout: 30000, env: { ...process.env, GST_PLUGIN_PATH: '', GST_PLUGIN_PATH_1_0: '', GST_REGISTRY: registry },
    });
    const file = /^\s*Filename\s+(\S.*)$/m.exec(said)![1]!;
    fs.symlinkSync(file, path.join(system, path.basename(file)));
  }
  NO_USER_PATH = { GST_PLUGIN_PATH: undefined, GST_PLUGIN_PATH_1_0: undefined, GST_PLUGIN_SYSTEM_PATH_1_0: system };
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

/** A new directory under tmp; with the plugin in it (a symlink) when asked. */
function dir(name: string, withPlugin = false): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d);
  if (withPlugin) fs.symlinkSync(PLUGIN, path.join(d, 'libgstzerobuffer.so'));
  return d;
}

/**
 * A copy of the plugin that does not load: it needs libjson-glib-1.0.so.9,
 * which no system has (same length: the ELF stays valid). Its directory.
 */
function brokenPluginDir(name: string): string {
  const broken = dir(name);
  const bytes = fs.readFileSync(PLUGIN);
  const from = Buffer.from('libjson-glib-1.0.so.0');
  expect(bytes.indexOf(from)).toBeGreaterThan(0);
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) bytes.write('libjson-glib-1.0.so.9', at);
  fs.writeFileSync(path.join(broken, 'libgstzerobuffer.so'), bytes);
  return broken;
}

/** The package as npm would install it for a platform it has no plugin for (dist/, package.json and the addon built, build/): its bin.js. */
function packageWithoutPlugin(name: string): string {
  const pkg = dir(name);
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.symlinkSync(path.join(repoRoot, 'build'), path.join(pkg, 'build'));
  return path.join(pkg, 'dist', 'cli', 'bin.js');
}

/** `zerobuffer run --frames 2` (of cli, this checkout's by default) with extra arguments and environment: its status and stderr. */
async function runTwoFrames(args: string[], env: NodeJS.ProcessEnv, cli = bin): Promise<{ status: number | null; stderr: string }> {
  const child = run(process.execPath, [cli, 'run', '--frames', '2', '--json', '--name', ringName('pp'), ...args, SOURCE],
    { GST_REGISTRY: registry, ...NO_USER_PATH, ...env });
  return { status: await child.exit(30000), stderr: child.stderr };
}

/** The run failed as one whose only zerobuffer plugin, file, does not load: GStreamer's reason and what to install, not "not found". */
function expectLoadFailure(r: { status: number | null; stderr: string }, file: string): void {
  expect(r.status).toBe(EXIT.pipeline);
  expect(r.stderr).toContain(`GStreamer could not load the zerobuffer plugin ${file}: `);
  expect(r.stderr).toContain('libjson-glib-1.0.so.9: cannot open shared object file');
  expect(r.stderr).toContain('apt install gstreamer1.0-plugins-base libjson-glib-1.0-0');
  expect(r.stderr).not.toContain('did not find the zerobuffer plugin');
  expect(r.stderr).not.toContain('holds no libgstzerobuffer.so');
  expect(r.stderr).not.toContain('gst-launch-1.0 -v');
}

test('resolvePluginPath: the user\'s GST_PLUGIN_PATH, then --plugin-path or this package\'s plugin; GST_PLUGIN_PATH_1_0 instead when that is set (GStreamer reads it instead)', () => {
  expect(resolvePluginPath({ env: { GST_PLUGIN_PATH: '/u' } })).toEqual({ variable: 'GST_PLUGIN_PATH', value: `/u:${builtPluginDir}`, added: builtPluginDir });
  expect(resolvePluginPath({ env: {} })).toEqual({ variable: 'GST_PLUGIN_PATH', value: builtPluginDir, added: builtPluginDir });
  expect(resolvePluginPath({ pluginPath: '/d', env: { GST_PLUGIN_PATH: '/u' } })).toEqual({ variable: 'GST_PLUGIN_PATH', value: '/u:/d', added: '/d' });
  expect(resolvePluginPath({ pluginPath: '/d', env: { GST_PLUGIN_PATH: '/u', GST_PLUGIN_PATH_1_0: '/v' } }))
    .toEqual({ variable: 'GST_PLUGIN_PATH_1_0', value: '/v:/d', added: '/d' });
  expect(resolvePluginPath({ env: { GST_PLUGIN_PATH: '/u', GST_PLUGIN_PATH_1_0: '' } }))
    .toEqual({ variable: 'GST_PLUGIN_PATH_1_0', value: builtPluginDir, added: builtPluginDir });
});

test('run uses this package\'s plugin without asking gst-inspect-1.0 first (it required the plugin\'s version to be GStreamer\'s own, so it never found ours installed, and rewrote the user\'s registry)', async () => {
  // a gst-inspect-1.0 that says "installed" (an old plugin in GStreamer's directories) and leaves a mark
  const fake = dir('fake-inspect');
  const mark = path.join(tmp, 'inspect-ran');
  fs.writeFileSync(path.join(fake, 'gst-inspect-1.0'), `#!/bin/sh\ntouch '${mark}'\nexit 0\n`, { mode: 0o755 });
  const r = await runTwoFrames([], { PATH: `${fake}:${process.env['PATH']}` });
  expect(r).toMatchObject({ status: EXIT.ok });
  expect(fs.existsSync(mark)).toBe(false);
});

test('with GST_PLUGIN_PATH_1_0 set, run still gives gst-launch the plugin, by default and with --plugin-path (it set GST_PLUGIN_PATH, which GStreamer then ignores)', async () => {
  const other = dir('other');
  expect(await runTwoFrames([], { GST_PLUGIN_PATH_1_0: other })).toMatchObject({ status: EXIT.ok });
  expect(await runTwoFrames(['--plugin-path', builtPluginDir], { GST_PLUGIN_PATH_1_0: other })).toMatchObject({ status: EXIT.ok });
});

test('--plugin-path DIR comes after the user\'s plugin path: what gst-launch finds there (here our plugin, DIR holding nothing) is still found (DIR replaced it)', async () => {
  const user = dir('user', true);
  const empty = dir('empty');
  expect(await runTwoFrames(['--plugin-path', empty], { GST_PLUGIN_PATH: user })).toMatchObject({ status: EXIT.ok });
  expect(await runTwoFrames(['--plugin-path', empty], { GST_PLUGIN_PATH_1_0: user })).toMatchObject({ status: EXIT.ok });
  // and without the user's path, DIR alone: not found, and said so
  const alone = await runTwoFrames(['--plugin-path', empty], {});
  expect(alone.status).toBe(EXIT.pipeline);
  expect(alone.stderr).toContain(`--plugin-path ${empty} holds no libgstzerobuffer.so`);
  // and nothing else to try: not gst-launch -v, not the pipeline's syntax
  expect(alone.stderr).not.toContain('gst-launch-1.0 -v');
  expect(alone.stderr).not.toContain('Check the pipeline syntax');
});

test('a plugin file that does not load (a library it needs is missing) is told with GStreamer\'s reason and what to install, each run (the registry keeps the failure), not as a plugin not found', async () => {
  const broken = brokenPluginDir('broken');
  const fresh = path.join(tmp, 'broken-registry.bin');
  for (let i = 0; i < 2; i++)
    expectLoadFailure(await runTwoFrames(['--plugin-path', broken], { GST_REGISTRY: fresh }), path.join(broken, 'libgstzerobuffer.so'));
});

test('a plugin file that does not load in a directory of the user\'s plugin path (GST_PLUGIN_PATH, GST_PLUGIN_PATH_1_0) is told with GStreamer\'s reason too (it was "did not find the zerobuffer plugin")', async () => {
  const parent = dir('user-broken');
  const broken = brokenPluginDir('user-broken/lib');
  const file = path.join(broken, 'libgstzerobuffer.so');
  const empty = dir('user-broken-empty');
  // --plugin-path holds nothing: the user's plugin is the only one
  expectLoadFailure(await runTwoFrames(['--plugin-path', empty], { GST_PLUGIN_PATH: broken }), file);
  // in a subdirectory of the user's path, as GStreamer looks there too
  expectLoadFailure(await runTwoFrames(['--plugin-path', empty], { GST_PLUGIN_PATH_1_0: `${empty}:${parent}` }), file);
  // a package without a plugin of its own adds nothing to the user's path
  expectLoadFailure(await runTwoFrames([], { GST_PLUGIN_PATH: broken }, packageWithoutPlugin('user-broken-pkg')), file);
});

test('plugin-path in a package without a plugin (no build, no prebuilt one): names the plugin GStreamer finds as it is (on the user\'s path, or installed), whatever its version, without writing the user\'s registry; else the meson commands that build it in the package', async () => {
  const pkgBin = packageWithoutPlugin('pkg');
  const userRegistry = path.join(tmp, 'user-registry.bin');
  const command = (env: NodeJS.ProcessEnv) => run(process.execPath, [pkgBin, 'plugin-path'],
    { GST_REGISTRY: userRegistry, ...NO_USER_PATH, ...env });
  const found = command({ GST_PLUGIN_PATH: builtPluginDir });
  expect(await found.exit(30000)).toBe(EXIT.internal);
  expect(found.stdout).toEqual([]);
  expect(found.stderr).toContain(`GStreamer finds one as it is: ${PLUGIN} (version `);
  expect(fs.existsSync(userRegistry)).toBe(false);
  // installed (meson install): in GStreamer's own directories
  const installed = dir('installed', true);
  const inSystem = command({ GST_PLUGIN_SYSTEM_PATH_1_0: installed });
  expect(await inSystem.exit(30000)).toBe(EXIT.internal);
  expect(inSystem.stderr).toContain(`GStreamer finds one as it is: ${path.join(installed, 'libgstzerobuffer.so')} (version `);
  expect(fs.existsSync(userRegistry)).toBe(false);
  // none in GStreamer's own directories, which are the test's (NO_USER_PATH), also on a machine with one installed
  const none = command({});
  expect(await none.exit(30000)).toBe(EXIT.internal);
  expect(none.stderr).toContain(`build it in this package with meson (in ${path.dirname(path.dirname(path.dirname(pkgBin)))}: meson setup builddir && meson compile -C builddir;`);
  expect(fs.existsSync(userRegistry)).toBe(false);
});
