// Where gst-launch finds the zerobuffer plugin: the caller's choice, else
// the user's GST_PLUGIN_PATH, else an installed plugin, else the one built
// in this checkout (builddir/gst-plugin).
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this module runs from (src/runner or dist/runner → ../..). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtPluginDir = path.join(packageRoot, 'builddir', 'gst-plugin');

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

export interface PluginPathOptions {
  /** A directory with libgstzerobuffer.so; wins over everything. */
  pluginPath?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * The GST_PLUGIN_PATH to give gst-launch, or undefined to leave the
 * environment as it is (the user set GST_PLUGIN_PATH, the plugin is
 * installed, or there is no built plugin to point at).
 */
export async function resolvePluginPath(options: PluginPathOptions = {}): Promise<string | undefined> {
  if (options.pluginPath !== undefined) return options.pluginPath;
  const env = options.env ?? process.env;
  if (env['GST_PLUGIN_PATH']) return undefined;
  if (await pluginInstalled()) return undefined;
  if (fs.existsSync(path.join(builtPluginDir, 'libgstzerobuffer.so'))) return builtPluginDir;
  return undefined;
}
