// A name given to inspect or cleanup that is no ring but a duplex channel's
// (zerobuffer filter --name, zerofilter channel=): the channel's rings are
// NAME_request and NAME_response, which those commands take.
import fs from 'node:fs';
import { duplexRingNames } from '../duplex.js';

/** The channel's two rings when either is in /dev/shm; undefined when neither is (or no channel can have the name). */
export function channelRings(name: string): { request: string; response: string } | undefined {
  let rings;
  try {
    rings = duplexRingNames(name);
  } catch {
    return undefined; // a name too long for the suffixes: no channel has it
  }
  return fs.existsSync(`/dev/shm/${rings.request}`) || fs.existsSync(`/dev/shm/${rings.response}`) ? rings : undefined;
}
