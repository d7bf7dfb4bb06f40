// A pipeline description → gst-launch arguments, split like a POSIX shell
// splits words (quotes and backslashes), so `zerobuffer run "<pipeline>"`
// means what `gst-launch-1.0 <pipeline>` means at a shell prompt. No shell
// runs: nothing is expanded.
import { fail } from '../options.js';
import { givenProperties } from './sink-properties.js';

/** Words of a pipeline description; throws TypeError on an unclosed quote. */
export function splitPipeline(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new TypeError(`pipeline has an unclosed ${quote} quote: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** `name=value` words for element properties (booleans as true/false). */
export function propertyWords(properties: Record<string, string | number | boolean | undefined>): string[] {
  return Object.entries(givenProperties(properties)).map(([k, v]) => `${k}=${String(v)}`);
}

/**
 * A property value as gst-launch reads it back whole: gst-launch joins its
 * arguments into one description (escaping spaces, but a `"` turns that
 * off, and a `\` escapes the next character), so a ring name such as
 * `nm cam:1`, `a"b c` or `x\y` goes in double quotes with `\` and `"`
 * escaped. Letters, digits, `.`, `-` and `_` go as they are.
 */
export function gstValue(value: string): string {
  return /^[A-Za-z0-9._-]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** A word for a POSIX shell, as the hints print commands: single-quoted unless plain. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._:=@%+,\/-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** gst-launch's arguments as a command line a POSIX shell gives back word for word (links stay bare `!`). */
export function shellCommand(words: readonly string[]): string {
  return words.map((w) => (w === '!' ? w : shellWord(w))).join(' ');
}

/** `buffer-name=NAME` (or another property) as a shell word that gst-launch reads back whole. */
export function gstPropertyWord(property: string, value: string): string {
  return shellWord(`${property}=${gstValue(value)}`);
}

/** Whether the last element of a pipeline's words is ELEMENT. */
export function endsIn(words: readonly string[], element: string): boolean {
  const last = pipelineElements(words).at(-1)!;
  return last === element || last.startsWith(`${element} `);
}

/**
 * The description gst-launch parses from its arguments (gst_parse_launchv): the words joined by spaces,
 * each space within a word escaped with `\` (but not inside double quotes), so a word stays one token.
 */
function launchDescription(words: readonly string[]): string {
  return words.map((word) => {
    let quoted = false;
    let escaped = '';
    for (let i = 0; i < word.length; i++) {
      if (word[i] === '"' && (!quoted || word[i - 1] !== '\\')) quoted = !quoted;
      escaped += word[i] === ' ' && !quoted ? '\\ ' : word[i];
    }
    return escaped;
  }).join(' ');
}

/**
 * `name=` as gst-launch's lexer reads an assignment (gst/parse/parse.l: identifier, `=`, spaces around it);
 * the identifier as GStreamer 1.22's reads it: a letter, digit or `_`, then those, `-`, `%` or `:` (a child
 * proxy's `mux::prop`).
 */
const ASSIGNMENT_HEAD = /^[A-Za-z0-9_][A-Za-z0-9_%:-]*\s*=\s*/;
/** Caps between two links (`! video/x-raw, width=64 !`): the lexer reads them to the next `!`, fields and all. */
const CAPS_START = /^\s*[A-Za-z0-9-]+\/[A-Za-z0-9-]/;

/** Where a quoted string starting at `start` ends (past its closing quote; a `\` escapes the quote), or -1 when unclosed. */
function quotedEnd(text: string, start: number): number {
  const quote = text[start]!;
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i + 1;
  }
  return -1;
}

/** Where an assignment's value starting at `start` ends: the longer of its run of non-spaces (with `\` escapes) and a quoted string. */
function valueEnd(text: string, start: number): number {
  let run = start;
  while (run < text.length && !/\s/.test(text[run]!)) run += text[run] === '\\' ? 2 : 1;
  const quoted = text[start] === '"' || text[start] === "'" ? quotedEnd(text, start) : -1;
  return Math.min(text.length, Math.max(run, quoted));
}

/**
 * The elements of a pipeline (its words) as gst-launch links them, each trimmed: split at each `!` its
 * lexer takes for a link, not at one escaped with `\`, inside quotes, or in a property's value, which runs
 * to the next space that is not escaped, or is a quoted string (`text="a ! b"` given as one shell word
 * becomes `text=a\ !\ b`; `name=x!y` is one value too), except in caps, which end at the next `!`.
 */
export function pipelineElements(words: readonly string[]): string[] {
  const text = launchDescription(words);
  const elements: string[] = [];
  let start = 0; // of the current element
  let tokenStart = true; // after a space or a link: where an assignment may begin
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    const head = tokenStart && !CAPS_START.test(text.slice(start, i)) ? ASSIGNMENT_HEAD.exec(text.slice(i)) : null;
    tokenStart = false;
    if (head !== null) {
      i = valueEnd(text, i + head[0].length);
    } else if (c === '\\') {
      i += 2;
    } else if (c === '"' || c === "'") {
      const end = quotedEnd(text, i);
      i = end === -1 ? i + 1 : end;
    } else if (c === '!') {
      elements.push(text.slice(start, i).trim());
      start = ++i;
      tokenStart = true;
    } else {
      tokenStart = /\s/.test(c);
      i++;
    }
  }
  elements.push(text.slice(start).trim());
  return elements;
}

/** An element's `name=` in its text (pipelineElements): quoted, or with its spaces escaped (launchDescription). */
const NAME_PROPERTY = /(?:^|\s)name\s*=\s*(?:"([^"]*)"|'([^']*)'|((?:\\.|[^\s\\])+))/;

/**
 * The names gst-launch gives the elements of a pipeline (its words), in the order of pipelineElements: an
 * element's `name=`, else its default name, its factory and how many elements of that factory without a name came
 * before it in the description, from 0 (gst-launch makes them left to right; caps between links are a capsfilter),
 * as `queue ! x ! queue` makes queue0 and queue1. A factory whose type is named otherwise (its default name is the
 * type's) gets a name no element has.
 */
export function elementNames(words: readonly string[]): string[] {
  const counts = new Map<string, number>();
  return pipelineElements(words).map((element) => {
    const named = NAME_PROPERTY.exec(element);
    if (named !== null) return named[1] ?? named[2] ?? named[3]!.replace(/\\(.)/g, '$1');
    const factory = CAPS_START.test(element) ? 'capsfilter' : element.split(/\s/)[0]!;
    const n = counts.get(factory) ?? 0;
    counts.set(factory, n + 1);
    return `${factory}${n}`;
  });
}

/**
 * The words of a pipeline given as a description or as words; a TypeError
 * (naming `option`) when it is empty or has a null byte (no process
 * argument can hold one: execa would throw as the pipeline starts). A
 * filter's sink pipeline is checked so: nothing is appended after it, so it
 * may end in a zerosink of its own.
 */
export function pipelineWords(option: string, value: unknown): string[] {
  const words = typeof value === 'string' ? splitPipeline(value)
    : Array.isArray(value) && value.every((w) => typeof w === 'string') ? [...value as string[]]
    : fail(option, 'a pipeline description (string or string[])', value);
  if (words.length === 0) fail(option, 'a non-empty pipeline description', value);
  const withNull = words.find((w) => w.includes('\0'));
  if (withNull !== undefined) fail(option, 'a pipeline description without null bytes', withNull);
  return words;
}

/**
 * The words of a source pipeline (pipelineWords); a TypeError too when it
 * already ends in zerosink, which PipelineRunner appends itself. The message
 * names no caller: the API's and each command's (run, serve, watch) are the
 * same, and a command says its name before it.
 */
export function sourceWords(option: string, value: unknown): string[] {
  const words = pipelineWords(option, value);
  if (endsIn(words, 'zerosink'))
    throw new TypeError(
      'the pipeline already ends in zerosink, but "! zerosink buffer-name=<ring>" is added to it: ' +
        "end it before zerosink and give zerosink's properties with --sink-property name=value " +
        '(sinkProperties in the API)',
    );
  return words;
}
