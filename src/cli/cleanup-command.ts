// `zerobuffer cleanup [names..]`: removes rings whose reader and writer are
// both dead; live rings are listed and left alone. Whether a ring may go is
// the core's judgement (zb_ring_remove_stale; --dry-run asks the same
// question, zb_ring_check_stale, so it lists what a real run removes and
// the refusals it would get). A name given is judged even when the list
// does not find it: an empty /dev/shm/NAME without a lock file is a
// leftover a reader of that name removes too. A sweep of every ring only
// names such files (unclaimed): nothing says they are rings. A sweep skips
// other users' rings (EACCES: not ours to remove, and maybe live when we may
// not even read them): they are their owner's business, not a failure; a
// name given is judged, so its EACCES is one. A sweep skips our own ring
// whose lock file we may not open too (a mode an older version allowed):
// live or not is unknown, and the core keeps it.
import { ZeroBufferError } from '../errors.js';
import { checkStaleRing, listRings, removeStaleRing, unclaimedEmptySegments } from '../rings.js';
import { shellWord } from '../runner/pipeline-tokens.js';
import { channelRings } from './channel-rings.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { CleanupArgs } from './parse-args.js';

export async function cleanupCommand(args: CleanupArgs, io: CliIo): Promise<ExitCode> {
  const wanted = args.names.length > 0 ? new Set(args.names) : undefined;
  let all;
  let rings;
  let unclaimed: string[];
  try {
    all = listRings();
    rings = all.filter((r) => wanted === undefined || wanted.has(r.name));
    unclaimed = wanted === undefined ? unclaimedEmptySegments(all) : [];
  } catch (e) {
    if (!(e instanceof ZeroBufferError)) throw e;
    say(io.stderr, `zerobuffer cleanup: cannot list rings: ${e.message} (${e.code})`);
    return EXIT.ring;
  }
  const removed: string[] = [];
  const live: string[] = [];
  const missing: string[] = [];
  const skipped: string[] = [];
  const failed: { name: string; error: string; code: string }[] = [];
  /** listed: found by the list (its error is a failure); else a name given, ENOENT when nothing is there. */
  const judge = (name: string, listed: boolean): void => {
    try {
      if (args.dryRun) checkStaleRing(name);
      else removeStaleRing(name);
      removed.push(name);
    } catch (e) {
      if (!(e instanceof ZeroBufferError)) throw e;
      if (!listed && e.code === 'ENOENT') missing.push(name);
      else if (!listed && e.code === 'EBUSY') live.push(name);
      else if (wanted === undefined && e.code === 'EACCES') skipped.push(name);
      else failed.push({ name, error: e.message, code: e.code });
    }
  };
  for (const r of rings) {
    if (r.accessDenied && wanted === undefined) skipped.push(r.name);
    else if (r.stale || r.accessDenied) judge(r.name, true); // a name given: its EACCES says whose it is
    else live.push(r.name);
  }
  for (const n of wanted ?? []) if (!rings.some((r) => r.name === n)) judge(n, false);
  // a name not found that is a duplex channel's: its two rings, and whether one of them is live (then a cleanup of them keeps it);
  // null when none is known live and one is another user's we may not read (live or not: unknown, as a sweep skips it)
  const channels = missing.flatMap((name) => {
    const c = channelRings(name);
    if (c === undefined) return [];
    const listed = all.filter((r) => r.name === c.request || r.name === c.response);
    const live = listed.some((r) => !r.stale && !r.accessDenied) ? true : listed.some((r) => r.accessDenied) ? null : false;
    return [{ name, rings: [c.request, c.response], live }];
  });
  if (args.json) {
    // a dry run removed nothing: its list is of what would be removed
    say(io.stdout, JSON.stringify({ dryRun: args.dryRun, [args.dryRun ? 'wouldRemove' : 'removed']: removed, live, failed, missing, channels, unclaimed, skipped }));
  } else {
    for (const n of removed) say(io.stdout, `${args.dryRun ? 'would remove' : 'removed'} ${n}`);
    for (const n of live) say(io.stdout, `live (kept) ${n}`);
    for (const n of missing) {
      const channel = channels.find((c) => c.name === n);
      const [request, response] = channel?.rings ?? [];
      say(io.stdout, channel === undefined ? `not found ${n}`
        : `not found ${n}: a duplex channel, whose rings are ${request} and ${response} ` +
          `(${channel.live === true ? 'live: its server or client still runs'
            : channel.live === null ? `live or not: unknown, another user's rings, which we may not read; ${pasteCleanup([request!, response!])} says whose`
              : `${pasteCleanup([request!, response!])} removes them`})`);
    }
    for (const n of unclaimed) {
      say(io.stdout, `unclaimed (kept) ${n}: /dev/shm/${n} is empty and no lock file or semaphore says it is a ring's; if it is (its reader died creating it), ${pasteCleanup([n])} removes it`);
    }
    if (skipped.length > 0) {
      say(io.stdout, `skipped ${skipped.length} ring${skipped.length === 1 ? '' : 's'} (EACCES: another user's, not ours to remove, ` +
        `live or not; or ours with a lock file whose mode shuts us out, so its reader may live; ` +
        `zerobuffer cleanup NAME says which and what to do): ${skipped.join(' ')}`);
    }
    for (const f of failed) say(io.stderr, `zerobuffer cleanup: ${f.name}: ${f.error} (${f.code})`);
    if (removed.length + live.length + missing.length + unclaimed.length + failed.length + skipped.length === 0) say(io.stdout, 'no rings found');
  }
  return failed.length > 0 ? EXIT.ring : EXIT.ok;
}

/** `zerobuffer cleanup NAMES` to paste: names shell-quoted, after `--` when one starts with '-' (as the core's advice). */
function pasteCleanup(names: readonly string[]): string {
  return `zerobuffer cleanup ${names.some((n) => n.startsWith('-')) ? '-- ' : ''}${names.map(shellWord).join(' ')}`;
}
