// `zerobuffer watch --pipeline "<source>" -- <command...>`: the command's
// output passes through; its start-stream lines start the pipeline.
import { watch } from '../orchestrator/watch.js';
import { inspectRing } from '../rings.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { WatchArgs } from './parse-args.js';

export async function watchCommand(args: WatchArgs, io: CliIo): Promise<ExitCode> {
  let watcher;
  try {
    watcher = watch({
      command: args.command, pipeline: args.pipeline, restart: args.restart, pluginPath: args.pluginPath,
      sinkProperties: args.sinkProperties, stdout: io.stdout, signal: io.signal,
    });
  } catch (e) {
    if (e instanceof TypeError) {
      say(io.stderr, `zerobuffer watch: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
  watcher.on('warning', (w) => say(io.stderr, `zerobuffer watch: ignored protocol line: ${w.reason}${w.line ? `: ${w.line}` : ''}`));
  watcher.on('message', (m) => say(io.stderr, `zerobuffer watch: ${m.method} ${m.name}`));
  watcher.on('state', (name, e) => {
    if (e.state === 'playing') say(io.stderr, `zerobuffer watch: pipeline into ${name} playing (pid ${e.pid})`);
    else if (e.state === 'restarting') say(io.stderr, `zerobuffer watch: pipeline into ${name} died; restart ${e.restarts} in ${e.delayMs} ms`);
    else if (e.state === 'exited' && e.error !== undefined) {
      if (ringExists(name)) say(io.stderr, `zerobuffer watch: pipeline into ${name}: ${e.error.message}`);
      else say(io.stderr, `zerobuffer watch: pipeline into ${name} ended: the reader closed its ring`);
    }
  });
  const result = await watcher.done;
  if (result.pipelineError !== undefined) {
    say(io.stderr, `zerobuffer watch: the pipeline failed and the command was stopped. ${result.pipelineError.message}`);
    return EXIT.pipeline;
  }
  if (result.stopped) return EXIT.ok;
  if (result.exitCode !== 0) {
    say(io.stderr, `zerobuffer watch: ${args.command[0]} ${result.exitCode !== undefined ? `exited with status ${result.exitCode}` : `was killed by ${result.signal}`}`);
    return EXIT.command;
  }
  return EXIT.ok;
}

function ringExists(name: string): boolean {
  try {
    return inspectRing(name).readerAlive;
  } catch {
    return false;
  }
}
