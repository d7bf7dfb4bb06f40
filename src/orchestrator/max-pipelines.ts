// watch's default limit on pipelines running at once (its own module: the
// CLI's argument table shows it without loading the addon).

/** WatchOptions.maxPipelines' default (and --max-pipelines'): pipelines running at once. */
export const DEFAULT_MAX_PIPELINES = 64;
