// The restart budget's default, apart from pipeline-runner.ts, whose imports
// load the addon: the command's --help shows it without one.

/** Restarts allowed when RestartOptions.maxRestarts is not given. */
export const DEFAULT_MAX_RESTARTS = 10;
