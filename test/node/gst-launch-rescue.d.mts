// Types of gst-launch-rescue.mjs, for the TypeScript tests.
import type { ChildProcess } from 'node:child_process';

export const LOST_QUIT_MS: number;
export const FORCED_EOS_MS: number;
export function rescueLostQuit(proc: ChildProcess): void;
