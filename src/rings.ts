// Rings on this machine, for tools: the health of one by name, the list of
// all of them, and the removal of stale ones (reader and writer dead).
import { wrapNative } from './errors.js';
import { native, type NativeHealth, type NativeRingEntry } from './native.js';
import { validateName } from './options.js';

/** band: healthy below 80 % utilisation, degraded to 95 %, critical above (the core's bands). */
export interface RingHealth extends NativeHealth {
  name: string;
}

export type RingEntry = NativeRingEntry & {
  /** Neither a live reader nor a live writer: cleanup removes it. */
  stale: boolean;
};

/** OIEB snapshot of the ring NAME (read-only; throws RingError ENOENT when there is none). */
export function inspectRing(name: string): RingHealth {
  if (name === undefined) throw new TypeError('option "name" must be a ring name, received undefined');
  const checked = validateName(name);
  const h = wrapNative(() => native.healthByName(checked));
  return { name: checked, ...h };
}

/** Every ring found in /dev/shm and /tmp/zerobuffer, in name order. */
export function listRings(): RingEntry[] {
  return wrapNative(() => native.ringsList()).map((r) => ({ ...r, stale: !r.readerAlive && !r.writerAlive }));
}

/** Removes a stale ring; throws RingError EBUSY when its reader or writer lives, ENOENT when there is none. */
export function removeStaleRing(name: string): void {
  if (name === undefined) throw new TypeError('option "name" must be a ring name, received undefined');
  const checked = validateName(name);
  wrapNative(() => native.ringRemoveStale(checked));
}
