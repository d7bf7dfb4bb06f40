// `zerobuffer plugin-path`: the directory of this package's GStreamer
// plugin, so that `export GST_PLUGIN_PATH=$(npx zerobuffer plugin-path)`
// lets a user's own gst-launch-1.0 lines find zerosink and zerosrc.
import { packagePluginDir, pluginInstalled, prebuiltPluginDir } from '../runner/plugin-path.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';

export async function pluginPathCommand(io: CliIo): Promise<ExitCode> {
  const dir = packagePluginDir();
  if (dir !== undefined) {
    say(io.stdout, dir);
    return EXIT.ok;
  }
  const installed = await pluginInstalled();
  say(io.stderr, `zerobuffer plugin-path: this package has no plugin for ${process.platform}-${process.arch} ` +
    `(no ${prebuiltPluginDir}); ` +
    (installed ? 'GStreamer finds an installed one without GST_PLUGIN_PATH.'
      : 'build and install it with meson (README, "Installing").'));
  return EXIT.internal;
}
