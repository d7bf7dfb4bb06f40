// Where gst-launch finds the zerobuffer plugin: the user's plugin path first
// (so that what they put there wins), then the caller's directory, else this
// package's own plugin, which matches this package's version: its meson
// build (builddir/gst-plugin: a checkout's, or one made in the installed npm
// package) or the prebuilt one an npm package ships
// (prebuilds/<platform>-<arch>/gstreamer-1.0). An installed plugin
// (GStreamer's own directories) is what remains where the package has none.
// gst-inspect runs here (never before a run) get a throwaway registry, so
// that they do not rewrite the user's registry cache.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionNames, validateOptions } from '../option-checks.js';

/** The package this module runs from (src/runner or dist/runner → ../..). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtPluginDir = path.join(packageRoot, 'builddir', 'gst-plugin');
export const prebuiltPluginDir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'gstreamer-1.0');

const PLUGIN_FILE = 'libgstzerobuffer.so';
/** How long a gst-inspect of ours may take (ms): a scan of every installed plugin. */
const INSPECT_TIMEOUT_MS = 20000;

/**
 * The directory of this package's own plugin: its meson build (a
 * checkout's, or one made in the installed package), else the prebuilt one
 * shipped in the npm package; undefined when neither exists (a platform
 * without a prebuilt plugin, not built yet).
 */
export function packagePluginDir(): string | undefined {
  return [builtPluginDir, prebuiltPluginDir].find((dir) => fs.existsSync(path.join(dir, PLUGIN_FILE)));
}

export type PluginPathVariable = 'GST_PLUGIN_PATH_1_0' | 'GST_PLUGIN_PATH';

/** The variable GStreamer reads the user's plugin path from: GST_PLUGIN_PATH_1_0 when it is set (also empty), instead of GST_PLUGIN_PATH. */
export function pluginPathVariable(env: NodeJS.ProcessEnv = process.env): PluginPathVariable {
  return env['GST_PLUGIN_PATH_1_0'] !== undefined ? 'GST_PLUGIN_PATH_1_0' : 'GST_PLUGIN_PATH';
}

export interface PluginPathOptions {
  /** A directory with libgstzerobuffer.so (or a ':' list), after the user's path, instead of this package's own. */
  pluginPath?: string;
  /** The environment gst-launch gets, whose plugin path comes first. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface PluginPath {
  /** The variable to set (pluginPathVariable). */
  variable: PluginPathVariable;
  /** Its value: the user's path, then `added`. */
  value: string;
  /** What is added to the user's path: options.pluginPath, else this package's plugin directory. */
  added: string;
}

/**
 * The plugin path to give gst-launch: the user's (GST_PLUGIN_PATH_1_0 or
 * GST_PLUGIN_PATH), then options.pluginPath, else this package's own
 * plugin directory. Undefined when there is nothing to add (no pluginPath,
 * and no plugin in this package for this platform): the environment stays
 * as it is, and GStreamer looks in its own directories too.
 */
const PLUGIN_PATH_OPTIONS = optionNames<PluginPathOptions>({ pluginPath: true, env: true });

export function resolvePluginPath(options?: PluginPathOptions): PluginPath | undefined {
  options = validateOptions(options, PLUGIN_PATH_OPTIONS);
  const added = options.pluginPath ?? packagePluginDir();
  if (added === undefined) return undefined;
  const env = options.env ?? process.env;
  const variable = pluginPathVariable(env);
  const user = env[variable];
  return { variable, value: user ? `${user}${path.delimiter}${added}` : added, added };
}

/** gst-inspect-1.0 with args and a registry of its own (in a temporary directory, removed after): its status, and stdout and stderr together. */
async function inspect(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ exitCode?: number; all: string }> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zerobuffer-registry-'));
  try {
    const registry = path.join(dir, 'registry.bin');
    const r = await execa('gst-inspect-1.0', args, {
      env: { ...env, GST_REGISTRY_1_0: registry, GST_REGISTRY: registry }, extendEnv: false,
      reject: false, timeout: INSPECT_TIMEOUT_MS, stdin: 'ignore', all: true,
    });
    return { exitCode: r.exitCode, all: r.all ?? '' };
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The zerobuffer plugin that GStreamer finds with the user's environment as
 * it is (GStreamer's own directories and the user's plugin path), whatever
 * its version: its file and version; undefined when it finds none.
 */
export async function findInstalledPlugin(env: NodeJS.ProcessEnv = process.env): Promise<{ file: string; version: string } | undefined> {
  const r = await inspect(['zerosink'], env);
  const file = /^\s*Filename\s+(\S.*)$/m.exec(r.all)?.[1];
  return r.exitCode === 0 && file !== undefined ? { file, version: /^\s*Version\s+(\S+)/m.exec(r.all)?.[1] ?? 'unknown' } : undefined;
}

/**
 * Every libgstzerobuffer.so in the ':' list of directories, in their order,
 * each directory searched two levels down (GStreamer looks in
 * subdirectories: a checkout's builddir holds it in gst-plugin).
 */
export function findPluginFiles(dirs: string): string[] {
  const found: string[] = [];
  const search = (dir: string, depth: number): void => {
    const file = path.join(dir, PLUGIN_FILE);
    if (fs.existsSync(file)) found.push(file);
    if (depth === 0) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) search(path.join(dir, e.name), depth - 1);
  };
  for (const dir of dirs.split(path.delimiter).filter((d) => d !== '')) search(dir, 2);
  return found;
}

/**
 * Why GStreamer cannot load any of the plugin files, in its words, plus
 * what to install when a library is missing; undefined when one of them
 * loads (or gst-inspect-1.0 did not end in time), or none is given.
 * gst-launch only says it has no zerosink, and the user's registry keeps
 * the failure so that it is not told again: this loads each file afresh.
 */
export async function pluginLoadFailure(files: readonly string[]): Promise<string | undefined> {
  const reasons: string[] = [];
  const hints = new Set<string>();
  for (const file of files) {
    // No plugin directories to scan: only the file is loaded.
    const r = await inspect([file], { ...process.env, GST_PLUGIN_SYSTEM_PATH_1_0: '', GST_PLUGIN_PATH_1_0: '' });
    if (r.exitCode === 0 || r.exitCode === undefined) return undefined;
    const said = /^Could not load plugin file: (.*)$/m.exec(r.all)?.[1] || r.all.trim().split('\n').at(-1) || `gst-inspect-1.0 exited with status ${r.exitCode}`;
    reasons.push(`GStreamer could not load the zerobuffer plugin ${file}: ${said}`);
    const library = /([^\s:]+): cannot open shared object file/.exec(said)?.[1];
    if (library !== undefined)
      hints.add(`${library}, which the plugin needs, is not installed: npm installs no system libraries (the plugin needs GStreamer ≥ 1.20 and json-glib at run time; ` +
        'Debian, Ubuntu: apt install gstreamer1.0-plugins-base libjson-glib-1.0-0; README, "Installing")');
  }
  return reasons.length === 0 ? undefined : [...reasons, ...hints].join('\n');
}
