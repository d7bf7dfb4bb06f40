// The announcement line (docs/PROTOCOL.md §9.3, "The announcement line"): a reader
// prints `> ` + a JSON-RPC 2.0 notification on its stdout; an orchestrator
// reading that stdout starts a writer into the ring it names.

/** `start-stream`: the ring NAME exists, start a writer into it. */
export interface StartStreamMessage {
  method: 'start-stream';
  name: string;
  /** Bytes of the metadata block, as given to the ring's creation. */
  metadataSize: number;
  /** Bytes of the payload ring, as given to the ring's creation. */
  payloadSize: number;
}

/** `stop-stream`: the reader is done with NAME, stop its writer. */
export interface StopStreamMessage {
  method: 'stop-stream';
  name: string;
}

/**
 * `start-duplex`: a duplex server created NAME_request (docs/DUPLEX.md);
 * start a filter pipeline `... ! zerofilter channel=NAME ! ...` for it.
 * `stop-stream` with the same NAME stops it.
 */
export interface StartDuplexMessage {
  method: 'start-duplex';
  name: string;
}

export type StreamMessage = StartStreamMessage | StopStreamMessage | StartDuplexMessage;

export const METHODS = ['start-stream', 'stop-stream', 'start-duplex'] as const;

/**
 * Lines are protocol when their first non-blank character (after the last '\r' with text after it) is this, once ('>>'
 * is output); or when it starts the line, or follows an earlier '\r', and the text after it parses as a JSON object.
 */
export const PROTOCOL_MARK = '>';
