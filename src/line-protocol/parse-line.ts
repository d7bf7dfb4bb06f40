// One line of another process's stdout → a log line, a message or a
// warning. Only lines whose first non-blank character is a single '>' are
// protocol; '>>' (quotes, prompts, merge markers) is ordinary output. A
// carriage return starts a line again (as on a terminal): what follows the
// last one with text after it is what counts ("working 50%\r> {...}"). A
// carriage return is also JSON whitespace: a mark starting the line, or
// following a CR, whose text to the line end parses as a JSON object makes
// the line protocol too ('> {"jsonrpc":"2.0",\r"method":...}'; other text's
// CRs start the line again: "> 50%\r" progress is output). A bad protocol
// line is a warning with the reason, never an exception.
import { METHODS, PROTOCOL_MARK, type StreamMessage } from './messages.js';
import { describeValue } from './describe.js';
import { checkMessage, checkName } from './validate.js';

export interface LogEvent {
  type: 'log';
  /** The line's text (lossy for non-UTF-8 bytes), without its line end. */
  text: string;
  /** The bytes exactly as read, line end included: pass these on unchanged. */
  raw: Uint8Array;
  /**
   * A line comes in pieces when it is longer than maxLineBytes (its text
   * before its last "\r" goes on, what follows is judged as a line start of
   * its own), or, with readLines' partialLogs, when its first bytes already
   * tell it is no protocol line and the rest has not come yet (a progress
   * display's "\r" updates, a prompt: passed on as they come). Each piece
   * but the last has partial: true, and the next piece goes on with it (the
   * last may hold only the line end, or nothing when the input ended inside
   * the line: text ''), unless a "\r" started the line again: then a
   * message, a warning or the end of the input may follow a partial piece,
   * with no piece to close it. A protocol line always comes whole.
   */
  partial?: true;
}

export interface MessageEvent {
  type: 'message';
  message: StreamMessage;
  /** The protocol line, without its line end. */
  line: string;
  raw: Uint8Array;
}

export interface WarningEvent {
  type: 'warning';
  /** Why the protocol line was ignored. */
  reason: string;
  /** The offending line (cut to 200 characters) for messages. */
  line: string;
  raw: Uint8Array;
  /**
   * 'ENAME' (the core's error name) when the line is a start-stream or
   * stop-stream whose ring name, a string, the core refuses: no writer can
   * ever open that ring, so an orchestrator may take it as a failure, not a
   * mere warning. A name missing or not a string is malformed, as a bad
   * size is: no code. `message` is then the request as read.
   */
  code?: 'ENAME';
  message?: StreamMessage;
}

export type LineEvent = LogEvent | MessageEvent | WarningEvent;

const SHOWN = 200;
const EMPTY = new Uint8Array(0);

/** The line cut for messages. */
export function shorten(line: string): string {
  return line.length > SHOWN ? `${line.slice(0, SHOWN)}… (${line.length} characters)` : line;
}

const CR = 0x0d;

/**
 * ASCII's blanks (space, tab, CR, VT, FF), as the line splitter counts
 * them, which tells an overlong or unfinished line that cannot be protocol
 * by its bytes; trimStart() also took Unicode's (NBSP, U+3000, BOM), so a
 * line the splitter passed as a log was protocol here.
 */
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === CR;

/**
 * Where the line starts again last, as on a terminal: after its last
 * carriage return with a non-blank character after it (CRs and blanks
 * before the line end start nothing); 0 when none does.
 */
function lastStart(line: string): number {
  let end = line.length;
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
  return end === 0 ? 0 : line.lastIndexOf('\r', end - 1) + 1;
}

/**
 * The index of the last '>' that is the first non-blank character of the
 * line or of a start after a carriage return, and not followed by another
 * '>'; -1 if none. Only text from there can parse as JSON: a later start's
 * mark would be in it, and a '>' is no JSON outside a string, which a raw
 * CR cannot be in.
 */
function lastMark(line: string): number {
  for (let i = line.lastIndexOf(PROTOCOL_MARK); i >= 0; i = i === 0 ? -1 : line.lastIndexOf(PROTOCOL_MARK, i - 1)) {
    if (line.startsWith(PROTOCOL_MARK, i + 1)) continue;
    let before = i - 1;
    while (before >= 0 && line.charCodeAt(before) !== CR && isBlank(line.charCodeAt(before))) before--;
    if (before < 0 || line.charCodeAt(before) === CR) return i;
  }
  return -1;
}

/** Blanks other than CR, then '{': an announcement's JSON, a JSON-RPC notification being an object. */
const OBJECT = /^[ \t\v\f]*\{/;

/**
 * The JSON after the line's protocol mark, or why it is none (a protocol
 * line still: a warning); undefined for a log line. The mark counts when it
 * starts what a terminal shows last (no CR with text after it follows), or
 * when the text after it is an object that parses: its CRs are then JSON
 * whitespace. (Other text's CRs start the line again: "> 50%\r" progress is
 * output, as the line splitter passes it on.)
 */
function protocolJson(line: string): { json: unknown } | { error: string } | undefined {
  const mark = lastMark(line);
  if (mark < 0) return undefined;
  const shown = mark >= lastStart(line);
  const text = line.slice(mark + PROTOCOL_MARK.length);
  if (!shown && !OBJECT.test(text)) return undefined;
  try {
    return { json: JSON.parse(text) };
  } catch (e) {
    return shown ? { error: (e as Error).message } : undefined;
  }
}

/**
 * True when the line is protocol (parseLine gives a message or a warning):
 * after the line's last carriage return with text after it, the first
 * non-blank character is '>' and the next is not another '>'; or such a '>'
 * starts the line, or follows an earlier CR, and the text after it parses
 * as a JSON object (the CRs in it are whitespace).
 */
export function isProtocolLine(line: string): boolean {
  return protocolJson(line) !== undefined;
}

function warning(reason: string, line: string, raw: Uint8Array): WarningEvent {
  return { type: 'warning', reason, line: shorten(line), raw };
}

function field(params: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(params, key) ? params[key] : undefined;
}

/** Positional `[name, metadataSize, payloadSize]` or named `{name, metadataSize, payloadSize}`. */
function toMessage(method: string, params: unknown): StreamMessage | string {
  const start = method === 'start-stream';
  const wanted = start ? '[name, metadataSize, payloadSize]' : '[name]';
  if (Array.isArray(params)) {
    if (params.length !== (start ? 3 : 1))
      return `params of ${method} must be ${wanted} (or named), received ${params.length} value(s)`;
    return start
      ? { method, name: params[0], metadataSize: params[1], payloadSize: params[2] }
      : { method: method as 'stop-stream' | 'start-duplex', name: params[0] };
  }
  if (typeof params === 'object' && params !== null) {
    const p = params as Record<string, unknown>;
    return start
      ? { method, name: field(p, 'name') as string, metadataSize: field(p, 'metadataSize') as number,
        payloadSize: field(p, 'payloadSize') as number }
      : { method: method as 'stop-stream' | 'start-duplex', name: field(p, 'name') as string };
  }
  return `params of ${method} must be ${wanted} or an object with those names`;
}

/** Classifies one line (text without its line end); raw is passed along for logs. */
export function parseLine(line: string, raw: Uint8Array = EMPTY): LineEvent {
  const parsed = protocolJson(line);
  if (parsed === undefined) return { type: 'log', text: line, raw };
  if ('error' in parsed) return warning(`protocol line is not JSON: ${parsed.error}`, line, raw);
  const json = parsed.json;
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return warning('protocol line is not a JSON-RPC 2.0 notification object', line, raw);
  const o = json as Record<string, unknown>;
  if (o['jsonrpc'] !== '2.0')
    return warning(`"jsonrpc" must be "2.0", received ${describeValue(o['jsonrpc'])}`, line, raw);
  const method = o['method'];
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method))
    return warning(`unknown method ${method === undefined ? '(none)' : describeValue(method)} (expected ${METHODS.join(' or ')})`, line, raw);
  const message = toMessage(method, o['params']);
  if (typeof message === 'string') return warning(message, line, raw);
  const problem = checkMessage(message);
  if (problem !== undefined) {
    const event = warning(`${method}: ${problem}`, line, raw);
    // a name missing or of another type is a malformed line, as a bad size is: only a string the core refuses is ENAME
    return typeof message.name !== 'string' || checkName(message.name) === undefined ? event : { ...event, code: 'ENAME', message };
  }
  return { type: 'message', message, line, raw };
}
