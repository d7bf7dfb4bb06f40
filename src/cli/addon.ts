// The addon for the help, which works without one: the core's defaults it
// shows, or why it does not load (EADDON: missing, refused by dlopen, of
// another version), which fails every command but --help and --version.
import type { NativeAddon } from '../native.js';

export const addon: { native: NativeAddon; error?: undefined } | { native?: undefined; error: unknown } =
  await import('../native.js').then(({ native }) => ({ native }), (error: unknown) => ({ error }));
