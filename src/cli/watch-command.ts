// `zerobuffer watch --pipeline "<source>" -- <command...>`: the command's
// output passes through; its start-stream lines start the pipeline. A
// pipeline that fails for good is reported once and ends the watch (exit 3);
// at the end one summary line per announced ring.
import type { PipelineError } from '../errors.js';
import { COMMAND_KILL_AFTER_TERM_MS, watch, type RingSummary } from '../orchestrator/watch.js';
import { DEFAULT_STOP_TIMEOUT_MS, killedAfterEosText } from '../runner/pipeline-runner.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { WatchArgs } from './parse-args.js';
import { briefFailure, errorKind, failureText, restartCount, sinkNotLinkedHint, stopOf, unknownSinkProperty, warningText } from './pipeline-failure.js';

export async function watchCommand(args: WatchArgs, io: CliIo): Promise<ExitCode> {
  let watcher;
  try {
    watcher = watch({
      command: args.command, pipeline: args.pipeline, pluginPath: args.pluginPath,
      restart: args.restart && { maxRestarts: args.maxRestarts }, maxPipelines: args.maxPipelines,
      sinkProperties: args.sinkProperties, filterSink: args.filterSink, stdout: io.stdout, signal: io.signal,
    });
  } catch (e) {
    if (e instanceof TypeError) {
      say(io.stderr, `zerobuffer watch: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
  // A --filter-sink that ends in no sink element fails every start-duplex pipeline alike, as one that dies and
  // restarts, fails while it stops, or ends the watch: told once, after the first such failure's line.
  let notLinkedTold = false;
  const tellNotLinked = (error: PipelineError | undefined): void => {
    const hint = notLinkedTold || error === undefined ? undefined : sinkNotLinkedHint(error, args.filterSink, 'watch');
    if (hint === undefined) return;
    notLinkedTold = true;
    say(io.stderr, `zerobuffer watch: ${hint}`);
  };
  watcher.on('warning', (w) => say(io.stderr, `zerobuffer watch: ignored protocol line: ${w.reason}${w.line ? `: ${w.line}` : ''}`));
  watcher.on('message', (m) => say(io.stderr, `zerobuffer watch: ${m.method} ${m.name}`));
  watcher.on('state', (name, e) => {
    if (e.state === 'playing') say(io.stderr, `zerobuffer watch: pipeline into ${name} playing (pid ${e.pid})`);
    else if (e.state === 'restarting' && e.recreated === true)
      say(io.stderr, `zerobuffer watch: pipeline into ${name} ended (${briefFailure(e.error)}); its ring was created again: into it in ${e.delayMs} ms (not counted as a restart)`);
    else if (e.state === 'restarting')
      say(io.stderr, `zerobuffer watch: pipeline into ${name} died (${briefFailure(e.error)}); ${restartCount(e)} in ${e.delayMs} ms`);
    if (e.state === 'restarting') tellNotLinked(e.error);
  });
  watcher.on('elementWarning', (name, w) => say(io.stderr, `zerobuffer watch: pipeline into ${name}: ${warningText(w, 'zerosink')}`));
  watcher.on('ended', (name, exit, fatal) => {
    if (exit.killedAfterEosMs !== undefined)
      say(io.stderr, `zerobuffer watch: pipeline into ${name}: ${killedAfterEosText(exit.killedAfterEosMs)}`);
    // A fatal failure is told once, below; this is a pipeline that ended without ending the watch.
    if (fatal || exit.error === undefined) return;
    // an element's error during its stop (its EOS), or a transient one printed before the stop came (stopOf), is
    // told as it comes, a stop-stream's long before the watch's end (which then has status 3)
    if (exit.stopped) {
      say(io.stderr, `zerobuffer watch: ${failureText(exit.error, {
        ring: name, outOfRestarts: false, restarts: exit.restarts, pluginPath: args.pluginPath, sinkPropertyTo: 'zerosink', stop: stopOf(exit),
      })}`);
      tellNotLinked(exit.error);
      return;
    }
    // (zerosink's EREADERGONE does not tell a reader that closed its ring from one that died)
    say(io.stderr, exit.error.code === 'EREADERGONE'
      ? `zerobuffer watch: pipeline into ${name} ended: its reader is gone (EREADERGONE)`
      : `zerobuffer watch: pipeline into ${name} ended (${briefFailure(exit.error)}); not restarted: its reader is gone`);
    tellNotLinked(exit.error);
  });
  const result = await watcher.done;
  if (result.spawnError !== undefined) {
    // the command never ran: it announced nothing, nothing was started for it
    const program = args.command[0]!;
    const hint = !/\bENOENT$/.test(result.spawnError) ? '' : program.includes('/') ? ' (no such file)' : ' (not found on the PATH)';
    say(io.stderr, `zerobuffer watch: ${program} could not be started: ${result.spawnError}${hint}`);
    return EXIT.command;
  }
  // a misspelt --sink-property is the command line's fault, as run tells it
  const misspelt = unknownSinkProperty(result.pipelineError, args.sinkProperties);
  if (misspelt !== undefined) say(io.stderr, `zerobuffer watch: ${misspelt}`);
  // (one during a stop was told as it came)
  else if (result.pipelineError !== undefined && !result.failedWhileStopping) {
    say(io.stderr, result.pipelineError.code === 'ENAME' && result.pipelineError.element === undefined
      ? `zerobuffer watch: no pipeline can write into the announced ring: ${result.pipelineError.message}`
      : `zerobuffer watch: ${failureText(result.pipelineError, {
        // (out of restarts: it restarted as many times in a row as the budget allows)
        ring: result.failedRing!, outOfRestarts: result.outOfRestarts, restarts: args.maxRestarts, pluginPath: args.pluginPath, sinkPropertyTo: 'zerosink',
      })}`);
    tellNotLinked(result.pipelineError);
  }
  if (result.commandKilledWith !== undefined) {
    const then = result.commandKilledWith.includes('SIGKILL') ? `, then SIGKILL ${COMMAND_KILL_AFTER_TERM_MS / 1000} s later` : '';
    // a command that exited by itself got no SIGINT: what it left running did
    const who = result.stopped ? `${args.command[0]} (or what it started)` : `what ${args.command[0]} left running`;
    say(io.stderr, `zerobuffer watch: ${who} did not exit within ${DEFAULT_STOP_TIMEOUT_MS / 1000} s ` +
      `of its SIGINT: zerobuffer sent its process group SIGTERM${then}`);
  }
  for (const ring of result.rings) say(io.stderr, `zerobuffer watch: ${summaryLine(ring)}`);
  const late = result.announcedAfterExit;
  if (result.rings.length === 0)
    // one read after the exit was printed all the same (before the exit, maybe, and read late): not "none printed"
    say(io.stderr, late === undefined ? 'zerobuffer watch: no ring was announced (the command printed no start-stream line)'
      : 'zerobuffer watch: no ring announcement was read before the command exited ' +
        `(${late.length === 1 ? 'that of ring' : 'those of rings'} ${late.map((n) => `"${n}"`).join(', ')} ` +
        `${late.length === 1 ? 'was' : 'were'} read after it: ignored)`);
  if (result.pipelineError !== undefined) {
    // (a failure during the watch's stop did not stop the command: the stop did.) One that had exited by itself (a
    // duplex server whose client, the failing pipeline, went) was not stopped: how it ended is said instead.
    if (!result.failedWhileStopping) {
      const how = result.exitCode !== undefined ? `status ${result.exitCode}` : `killed by ${result.signal}`;
      say(io.stderr, result.commandStopped === true ? `zerobuffer watch: stopped ${args.command[0]}`
        : `zerobuffer watch: ${args.command[0]} had exited by itself (${how})`);
    }
    return misspelt !== undefined ? EXIT.usage : EXIT.pipeline;
  }
  if (result.stopped) return EXIT.ok;
  if (result.exitCode !== 0) {
    const how = result.exitCode !== undefined ? `exited with status ${result.exitCode}` : `was killed by ${result.signal}`;
    say(io.stderr, `zerobuffer watch: ${args.command[0]} ${how}`);
    return EXIT.command;
  }
  return EXIT.ok;
}

/**
 * "ring X: 20 frames written, 1 restart, last error: EREADERGONE (transient)". A run
 * that ended without zerosink telling its count (killed, or ended by another
 * element's error) makes the count a lower bound, and unknown when no run told it.
 */
function summaryLine(ring: RingSummary): string {
  const count = `${ring.framesWritten} frame${ring.framesWritten === 1 ? '' : 's'} written`;
  const frames = ring.framesWrittenExact ? count
    : ring.framesWritten > 0 ? `at least ${count}` : 'an unknown number of frames written';
  const restarts = `${ring.restarts} restart${ring.restarts === 1 ? '' : 's'}`;
  return `ring ${ring.name}: ${frames}, ${restarts}, last error: ${ring.lastError === undefined ? 'none' : errorKind(ring.lastError)}`;
}
