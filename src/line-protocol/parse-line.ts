// One line of another process's stdout → a log line, a message or a
// warning. Only lines whose first non-blank character is a single '>' are
// protocol; '>>' (quotes, prompts, merge markers) is ordinary output. A
// carriage return starts a line again (as on a terminal): what follows the
// last one with text after it is what counts ("working 50%\r> {...}"). A bad
// protocol line is a warning with the reason, never an exception.
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
   * A line comes in pieces when it is longer than maxLineBytes, or, with
   * readLines' partialLogs, when its first bytes already tell it is no
   * protocol line and the rest has not come yet (a progress display's "\r"
   * updates, a prompt: passed on as they come). Each piece but the last has
   * partial: true, and the next piece goes on with it (the last may hold
   * only the line end, or nothing when the input ended inside the line:
   * text ''), unless a "\r" started the line again: then a message or the
   * end of the input may follow a partial piece, with no piece to close
   * it. A protocol line always comes whole.
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

/**
 * The line without its leading blanks: ASCII's (space, tab, CR, VT, FF), as
 * the line splitter counts them, which tells an overlong or unfinished line
 * that cannot be protocol by its bytes; trimStart() also took Unicode's
 * (NBSP, U+3000, BOM), so a line the splitter passed as a log was protocol here.
 */
function withoutBlanks(line: string): string {
  return line.replace(/^[ \t\r\v\f]+/, '');
}

/** What follows the line's last carriage return with more than carriage returns after it (the line, when it has none). */
function afterLastReturn(line: string): string {
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === 0x0d) end--;
  return end === 0 ? line : line.slice(line.lastIndexOf('\r', end - 1) + 1);
}

/**
 * True when, after the line's last carriage return (followed by more than
 * carriage returns), the first non-blank character is '>' and the next is
 * not another '>'.
 */
export function isProtocolLine(line: string): boolean {
  const trimmed = withoutBlanks(afterLastReturn(line));
  return trimmed.startsWith(PROTOCOL_MARK) && !trimmed.startsWith(PROTOCOL_MARK, PROTOCOL_MARK.length);
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
  if (!isProtocolLine(line)) return { type: 'log', text: line, raw };
  const trimmed = withoutBlanks(afterLastReturn(line));
  let json: unknown;
  try {
    json = JSON.parse(trimmed.slice(PROTOCOL_MARK.length));
  } catch (e) {
    return warning(`protocol line is not JSON: ${(e as Error).message}`, line, raw);
  }
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
