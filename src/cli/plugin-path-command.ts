// `zerobuffer plugin-path`: the directory of this package's GStreamer
// plugin, so that `export GST_PLUGIN_PATH=$(npx zerobuffer plugin-path)`
// lets a user's own gst-launch-1.0 lines find zerosink and zerosrc.
import { findInstalledPlugin, packagePluginDir, packageRoot, prebuiltPluginDir } from '../runner/plugin-path.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';

export async function pluginPathCommand(io: CliIo): Promise<ExitCode> {
  const dir = packagePluginDir();
  if (dir !== undefined) {
    say(io.stdout, dir);
    return EXIT.ok;
  }
  const installed = await findInstalledPlugin();
  say(io.stderr, `zerobuffer plugin-path: this package has no plugin for ${process.platform}-${process.arch} ` +
    `(no ${prebuiltPluginDir}); ` +
    (installed !== undefined ? `GStreamer finds one as it is: ${installed.file} (version ${installed.version}).`
      : `build it in this package with meson (in ${packageRoot}: meson setup builddir && meson compile -C builddir; README, "Installing").`));
  return EXIT.internal;
}
