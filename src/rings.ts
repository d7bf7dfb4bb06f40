// Rings on this machine, for tools: the health of one by name, the list of
// all of them, and the removal of stale ones (reader and writer dead).
import fs from 'node:fs';
import { wrapNative, ZeroBufferError } from './errors.js';
import { native, type NativeHealth, type NativeOieb, type NativeRingEntry } from './native.js';
import { validateName } from './options.js';

/** band: healthy below 80 % utilisation, degraded to 95 %, critical above (the core's bands). */
export interface RingHealth extends NativeHealth {
  name: string;
}

export type RingEntry = NativeRingEntry & {
  /**
   * Neither a live reader nor a live writer: cleanup removes it when it is this user's (another user's stale
   * ring, readable here or a semaphore file alone, makes removeStaleRing throw EACCES naming its owner; cleanup
   * skips it). Never a ring whose access was denied (unreadable here): it may be live, and only its owner or
   * root can tell.
   */
  stale: boolean;
};

/** OIEB snapshot of the ring NAME (read-only; throws RingError ENOENT when there is none). */
export function inspectRing(name: string): RingHealth {
  if (name === undefined) throw new TypeError('option "name" must be a ring name, received undefined');
  const checked = validateName(name);
  const h = wrapNative(() => native.healthByName(checked));
  return { name: checked, ...h };
}

/** A ring's OIEB fields, with whether its reader and writer are alive (no utilisation or backlog). */
export type RingFields = NativeOieb & Pick<NativeHealth, 'readerAlive' | 'writerAlive'> & { name: string };

/**
 * What inspectRing(name) had read of the ring when it threw `e`: for a
 * ProtocolError about the ring's entries (an unread entry its reader will
 * refuse), the OIEB's fields, and
 * whether reader and writer are alive as listRings() judges them; undefined
 * for any other error.
 */
export function fieldsReadBefore(name: string, e: unknown): RingFields | undefined {
  const oieb = e instanceof ZeroBufferError ? (e.cause as { oieb?: NativeOieb } | undefined)?.oieb : undefined;
  if (oieb === undefined) return undefined;
  const ring = listRings().find((r) => r.name === name);
  return { name, ...oieb, readerAlive: ring?.readerAlive ?? false, writerAlive: ring?.writerAlive ?? false };
}

/** Every ring found in /dev/shm and /tmp/zerobuffer, in name order. */
export function listRings(): RingEntry[] {
  return wrapNative(() => native.ringsList()).map((r) => ({ ...r, stale: !r.accessDenied && !r.readerAlive && !r.writerAlive }));
}

/**
 * Removes a stale ring; throws RingError EBUSY when its reader or writer lives, ENOENT when there is none.
 * By name it also removes what a reader creating NAME would, which listRings() does not find: an empty
 * /dev/shm/NAME of this user that no live reader's lock holds (its creator died before sizing it).
 */
export function removeStaleRing(name: string): void {
  if (name === undefined) throw new TypeError('option "name" must be a ring name, received undefined');
  const checked = validateName(name);
  wrapNative(() => native.ringRemoveStale(checked));
}

/** What removeStaleRing(name) would throw, removing nothing (a dry run: the core's same judgement). */
export function checkStaleRing(name: string): void {
  if (name === undefined) throw new TypeError('option "name" must be a ring name, received undefined');
  const checked = validateName(name);
  wrapNative(() => native.ringCheckStale(checked));
}

/**
 * Empty files of this user in /dev/shm under a valid ring name that no ring claims (no lock file,
 * no semaphores, so listRings() has not got them), in name order: maybe a ring's creator killed
 * before it sized its segment, maybe another program's file (an empty shm object is not told to
 * be a ring by anything in it). Nothing sweeps them; removeStaleRing(name) removes one by name.
 */
export function unclaimedEmptySegments(listed: readonly { name: string }[]): string[] {
  const known = new Set(listed.map((r) => r.name));
  const uid = process.geteuid?.();
  let entries: string[];
  try {
    entries = fs.readdirSync('/dev/shm');
  } catch {
    return [];
  }
  return entries.filter((name) => {
    // /dev/shm/sem.* is glibc's semaphores' (sem_open's temporary files there are empty for a moment):
    // never reported, though a ring may be named "sem.X" (removeStaleRing('sem.X') still removes one).
    if (known.has(name) || name.startsWith('sem.')) return false;
    try {
      native.validateName(name);
      const st = fs.lstatSync(`/dev/shm/${name}`);
      return st.isFile() && st.size === 0 && st.uid === uid;
    } catch {
      return false;
    }
  }).sort();
}
