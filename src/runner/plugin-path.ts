// Where gst-launch finds the zerobuffer plugin: the caller's choice, else an
// installed plugin (GStreamer's own directories), else this package's own
// plugin: the checkout's build (builddir/gst-plugin) or the prebuilt one an
// npm package ships (prebuilds/<platform>-<arch>/gstreamer-1.0). The user's
// GST_PLUGIN_PATH is kept in front of ours.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package this module runs from (src/runner or dist/runner → ../..). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtPluginDir = path.join(packageRoot, 'builddir', 'gst-plugin');
export const prebuiltPluginDir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'gstreamer-1.0');

const PLUGIN_FILE = 'libgstzerobuffer.so';

let installed: Promise<boolean> | undefined;

/** gst-inspect finds zerosink without any GST_PLUGIN_PATH (cached per process). */
export function pluginInstalled(gstInspect = 'gst-inspect-1.0'): Promise<boolean> {
  installed ??= (async () => {
    const env = { ...process.env };
    delete env['GST_PLUGIN_PATH'];
    const r = await execa(gstInspect, ['--exists', 'zerosink'], { env, extendEnv: false, reject: false, timeout: 20000, stdin: 'ignore' });
    return r.exitCode === 0;
  })();
  return installed;
}

/**
 * The directory of this package's own plugin: the checkout's build, else
 * the prebuilt one shipped in the npm package; undefined when neither exists
 * (a platform without a prebuilt plugin: install it with meson).
 */
export function packagePluginDir(): string | undefined {
  return [builtPluginDir, prebuiltPluginDir].find((dir) => fs.existsSync(path.join(dir, PLUGIN_FILE)));
}

export interface PluginPathOptions {
  /** A directory with libgstzerobuffer.so; wins over everything. */
  pluginPath?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * The GST_PLUGIN_PATH to give gst-launch, or undefined to leave the
 * environment as it is (the plugin is installed, or this package has none).
 * A user's GST_PLUGIN_PATH stays first, so a plugin found there wins.
 */
export async function resolvePluginPath(options: PluginPathOptions = {}): Promise<string | undefined> {
  if (options.pluginPath !== undefined) return options.pluginPath;
  if (await pluginInstalled()) return undefined;
  const ours = packagePluginDir();
  if (ours === undefined) return undefined;
  const user = (options.env ?? process.env)['GST_PLUGIN_PATH'];
  return user ? `${user}${path.delimiter}${ours}` : ours;
}
