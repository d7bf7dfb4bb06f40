// How run, watch and filter tell a pipeline's failures: one line per failure that is
// retried, and the whole message (zerosink's, with its hint, or gst-launch's
// words) once for the failure that ends the command.
import { PipelineError } from '../errors.js';
import { ELEMENT_PATH, type ElementWarning } from '../runner/pipeline-output.js';
import { isAppendedElement, notLinkedElements, type PipelineExit } from '../runner/pipeline-runner.js';
import { pipelineElements, splitPipeline } from '../runner/pipeline-tokens.js';
import { closest } from './nearest.js';

/** zerosink's properties, its base classes' too (gst-inspect-1.0 zerosink): the nearest to a --sink-property name it has not. */
export const ZEROSINK_PROPERTIES: readonly string[] = [
  'async', 'blocksize', 'buffer-name', 'camera-id', 'connect-timeout', 'enable-last-sample', 'frame-header', 'last-sample', 'max-bitrate',
  'max-buffers', 'max-lateness', 'name', 'on-reader-lost', 'parent', 'policy', 'processing-deadline', 'qos', 'render-delay', 'stats', 'sync',
  'throttle-time', 'timeout', 'ts-offset', 'zero-copy',
];

/**
 * gst-launch's rejection for a --sink-property name (given: the command's)
 * that zerosink does not have ('no property "polcy" in element "zerosink"'):
 * a usage error's message, with the nearest name it has; else undefined
 * (any other failure: run, serve and watch tell those as pipeline failures).
 */
export function unknownSinkProperty(error: unknown, given: Record<string, string>): string | undefined {
  if (!(error instanceof PipelineError)) return undefined;
  const property = /no property "([^"]+)" in element "zerosink\d*"/.exec(error.message)?.[1];
  if (!error.rejected || property === undefined || given[property] === undefined) return undefined;
  const near = closest(property, ZEROSINK_PROPERTIES);
  return `--sink-property ${property}=${given[property]}: zerosink has no property "${property}"${near === undefined ? '' : ` (did you mean ${near}?)`} ` +
    '(gst-inspect-1.0 zerosink lists them)';
}

/** "EREADERGONE, transient: The reader of ring X is gone" or gst-launch's first error line. */
export function briefFailure(error: PipelineError | undefined): string {
  if (error === undefined) return 'no error';
  const first = firstLine(error);
  if (error.element !== undefined) return `${error.code}, ${kind(error)}: ${first}`;
  const cause = error.message.split('\n').find((l) => l.startsWith('ERROR: from element'));
  return cause === undefined ? first : `${first}: ${cause.replace(new RegExp(`^ERROR: from element ${ELEMENT_PATH}: `), '')}`;
}

/**
 * "EMSGSIZE (permanent)", or the code and gst-launch's first line for failures zerosink did not classify, said to be
 * permanent when they are (a sink pipeline's not-linked, a gst-launch that could not be started).
 */
export function errorKind(error: PipelineError): string {
  return error.element !== undefined || error.code === 'ENAME' ? `${error.code} (${kind(error)})`
    : `${error.code} (${error.permanent ? 'permanent: ' : ''}${firstLine(error)})`;
}

/** The message's first line, without the colon that introduces gst-launch's words. */
function firstLine(error: PipelineError): string {
  return error.message.split('\n')[0]!.replace(/:$/, '');
}

function kind(error: PipelineError): string {
  return error.permanent ? 'permanent' : 'transient';
}

export interface FailureContext {
  /** The ring the pipeline wrote into. */
  ring: string;
  /** The budget was used up (PipelineExit.outOfRestarts). */
  outOfRestarts: boolean;
  /** Restarts in a row made before the last failure (as many as the budget when outOfRestarts). */
  restarts: number;
  /** --plugin-path as given, if it was. */
  pluginPath?: string;
  /**
   * The appended element the command's --sink-property sets: zerosink (run,
   * watch, serve) or zerofilter (filter; watch's start-duplex zerofilter
   * takes none of it).
   */
  sinkPropertyTo: 'zerosink' | 'zerofilter';
  /**
   * A stop ended it (PipelineExit.stopped), leaving no restart due: 'during', an element failed while the stop's
   * EOS went through; 'before', the run had failed already when the stop came (PipelineExit.failedBeforeStop): its
   * own failure, which the stop neither caused nor let restart (stopOf).
   */
  stop?: 'during' | 'before';
}

/** How a stop met the run's failure (FailureContext.stop): none, during its EOS, or after the failure came. */
export function stopOf(exit: Pick<PipelineExit, 'stopped' | 'failedBeforeStop'>): FailureContext['stop'] {
  return !exit.stopped ? undefined : exit.failedBeforeStop === true ? 'before' : 'during';
}

/**
 * The message, its hints in the command's words when they are about the
 * element the command appended and configures with --sink-property: the
 * element names its properties as gst-launch takes them ("use
 * policy=drop"); here they are given with --sink-property (filter's own
 * --on-error is another thing: what the script's failures do, pass by
 * default). The hints of the source's own elements, and of an appended
 * element --sink-property does not reach, stay as they are.
 */
export function inCommandWords(error: PipelineError, sinkPropertyTo: 'zerosink' | 'zerofilter'): string {
  return error.element === undefined ? error.message : propertiesInCommandWords(error.message, error.element.element, sinkPropertyTo);
}

/**
 * An element's message (element: its path) with its property hints in the
 * command's words (inCommandWords). A zerosink of the user's own pipeline
 * text (filter's are all so) is set there: --sink-property, which the hint
 * would otherwise seem to mean, does not reach it.
 */
function propertiesInCommandWords(message: string, element: string, sinkPropertyTo: 'zerosink' | 'zerofilter' | undefined): string {
  if (sinkPropertyTo === undefined) return message;
  if (!isAppendedElement(element, sinkPropertyTo)) {
    if (!/\/GstZeroSink:[^/]+$/.test(element)) return message;
    const appended = sinkPropertyTo === 'zerofilter' ? "zerofilter's" : "the appended zerosink's";
    return message.replace(/\bSet (frame-header=true)\b/g, `Set $1 on this zerosink in your pipeline (--sink-property sets ${appended} properties only)`);
  }
  return message.replace(/\braise (timeout|connect-timeout)\b/g, 'raise --sink-property $1=MS')
    .replace(/\buse (on-error|policy)=([\w-]+)/g, 'use --sink-property $1=$2')
    .replace(/\b([Ss]et) ((?:frame-header|zero-copy)=(?:true|false)|max-buffers=\d+)\b/g, '$1 --sink-property $2');
}

/**
 * "restart N", and how many in a row when that differs (what --max-restarts counts: a run that stayed up
 * started it again, or watch carried it over from the ring's pipeline before).
 */
export function restartCount(event: { restarts: number; restartsInARow: number }): string {
  return `restart ${event.restarts}${event.restartsInARow !== event.restarts ? ` (${event.restartsInARow} in a row)` : ''}`;
}

/** Why a transient failure was not restarted, by FailureContext.stop. */
const STOP_TEXT = { during: ' while it stopped (its EOS)', before: ' before its stop came (not restarted)', none: ' and was not restarted' };

/** The failure that ends the command, whole; the caller prefixes "zerobuffer run: " or "zerobuffer watch: ". */
export function failureText(error: PipelineError, { ring, outOfRestarts, restarts, pluginPath, sinkPropertyTo, stop }: FailureContext): string {
  if (error.spawnError !== undefined) return `pipeline into ${ring} never ran: ${error.message}`;
  const message = inCommandWords(error, sinkPropertyTo);
  const who = error.element !== undefined ? `${error.element.element.split('/').at(-1)!.replace(/^\w+:/, '')} said` : 'gst-launch said';
  // a budget of 0 ends at the first failure: it did not fail "again"
  if (outOfRestarts && restarts === 0)
    return `pipeline into ${ring} failed${error.element !== undefined ? ` (${error.code}, transient)` : ''} and --max-restarts 0 allows no restart; ${who}:\n${message}`;
  if (outOfRestarts)
    return `pipeline into ${ring} keeps dying: it failed again after ${restarts} restart${restarts === 1 ? '' : 's'} in a row (--max-restarts); the last time ${who}:\n${message}`;
  if (error.rejected) return `gst-launch rejected the pipeline for ${ring}: ${message}${pluginMissing(error, pluginPath)}`;
  // the ring of the element the command appended; the source's own zerosink names another
  if (error.code === 'ENOENT' && error.element !== undefined && (isAppendedElement(error.element.element, 'zerosink') || isAppendedElement(error.element.element, 'zerofilter')))
    return `ring ${ring} does not exist: it was announced but never created (or removed at once); ${who}:\n${message}`;
  if (error.permanent) return `pipeline into ${ring} failed for good (${error.code}, permanent); ${who}:\n${message}`;
  return `pipeline into ${ring} failed${error.element !== undefined ? ` (${error.code}, transient)` : ''}${STOP_TEXT[stop ?? 'none']}; ${who}:\n${message}`;
}

/**
 * A permanent "streaming stopped, reason not-linked" (the runner's sinkNotLinked: zerofilter's, or an element's of
 * the sink pipeline): what zerofilter pushes its answers into, the sink pipeline (filter's <sink>, watch's
 * --filter-sink), ends in an output linked to nothing (no sink element at its end: neither command appends one).
 * Which element a description ends in is a sink only GStreamer's registry knows, so this is told once gst-launch has
 * said it, not before. The caller prefixes "zerobuffer filter: " or "zerobuffer watch: ".
 */
export function sinkNotLinkedHint(error: PipelineError, sink: string, command: 'filter' | 'watch'): string | undefined {
  if (!error.permanent || error.element !== undefined || notLinkedElements(error.message).length === 0) return undefined;
  const last = pipelineElements(splitPipeline(sink)).at(-1)!;
  const given = command === 'filter' ? 'the sink pipeline' : 'the --filter-sink pipeline';
  return `${given} ("${sink}") sends the answers nowhere (not-linked): it must end in a sink element, ` +
    `which ${command} does not append: e.g. "${last} ! autovideosink", or fakesink to drop them`;
}

/**
 * A rejection for want of our own elements: where the plugin comes from, not
 * the user's pipeline, is at fault. A plugin there that did not load is told
 * by the message itself (PipelineError.pluginLoadFailure).
 */
export function pluginMissing(error: PipelineError, pluginPath?: string): string {
  const element = /no element "(zerosink|zerosrc|zerofilter)"/.exec(error.message)?.[1];
  if (element === undefined || error.pluginLoadFailure !== undefined) return '';
  const where = pluginPath === undefined ? 'give its directory with --plugin-path DIR'
    : `--plugin-path ${pluginPath} holds no libgstzerobuffer.so (nor its subdirectories): give the directory that does`;
  return `\nGStreamer did not find the zerobuffer plugin (${element}): ${where}, or install it ` +
    '(zerobuffer plugin-path prints the one this package carries; where there is none, meson install: README, "Installing").';
}

/**
 * An element's warning as gst-launch printed it, with the first line of its
 * debug text indented below; sinkPropertyTo: the property hints of both in
 * the command's words, as a failure's (inCommandWords; a failure's message
 * holds its debug text).
 */
export function warningText(w: ElementWarning, sinkPropertyTo?: 'zerosink' | 'zerofilter'): string {
  const hint = propertiesInCommandWords(w.hint, w.element, sinkPropertyTo);
  return `WARNING: from element ${w.element}: ${propertiesInCommandWords(w.message, w.element, sinkPropertyTo)}${hint === '' ? '' : `\n  ${hint}`}`;
}

/** The `--json` line of an element's warning (sinkPropertyTo: as warningText's). */
export function warningJson(w: ElementWarning, sinkPropertyTo?: 'zerosink' | 'zerofilter'): string {
  return JSON.stringify({
    type: 'warning', element: w.element, message: propertiesInCommandWords(w.message, w.element, sinkPropertyTo),
    hint: propertiesInCommandWords(w.hint, w.element, sinkPropertyTo),
  });
}
