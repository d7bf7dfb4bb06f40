// The rescue of a gst-launch-1.0 that lost the quit of an error posted
// during preroll, for the jest helpers' run() and for the fixtures that start
// gst-launch themselves (plain JS: they run without jest). The shell tests
// have the same in test/gst/lib_process.sh (rescue_lost_quit).
import fs from 'node:fs';

/**
 * gst-launch 1.22 quits its main loop from the thread that posts an element's
 * error; one posted during preroll before the main thread has entered the
 * loop (a loaded host) is lost, and gst-launch then waits for ever (the
 * CLI's runner kills it: HUNG_AFTER_ERROR_MS). Seen in CI: duplex-mode's
 * zerofilter, denied the request ring at its first caps, printed its error
 * and did not exit within 20 s (10 runs of ~160 with four busy loops on two
 * cores). A gst-launch still running this long after "doesn't want to
 * preroll" (and not "Setting pipeline to NULL": it left its loop) is sent
 * SIGINT, it alone (not a wrapper that started it), and only while it
 * catches SIGINT: in its loop by then, it stops as it would have, tearing
 * the pipeline down (a teardown that hangs still fails the test), and exits
 * 1. Long enough that a slow teardown on a loaded host is not taken for a
 * lost quit; and one slower still is not interrupted: with -q gst-launch
 * prints nothing as it leaves its loop, but it catches SIGINT only until its
 * teardown has set the pipeline to NULL (a SIGINT meanwhile is dropped),
 * and past that a SIGINT would kill it (exit 130).
 */
export const LOST_QUIT_MS = 5000;

/**
 * With -e (--eos-on-shutdown) gst-launch answers that SIGINT by forcing an
 * EOS onto the pipeline instead of quitting, and stops catching SIGINT; a
 * pipeline that failed in preroll never delivers that EOS, and gst-launch
 * waits for ever again. One still in its loop this long after the SIGINT
 * (not "Setting pipeline to NULL", and still catching SIGHUP, which it stops
 * catching once its teardown has set the pipeline to NULL) is sent SIGINT
 * again, which kills it: exit 130 (it has no way left to exit 1 by itself,
 * as it would have with its quit not lost; its error is in its output).
 */
export const FORCED_EOS_MS = 5000;

const SIGHUP = 1;
const SIGINT = 2;

/** The gst-launch-1.0 process pid is, or the first found among its descendants, or undefined. */
function gstLaunchProcess(pid) {
  const children = new Map();
  for (const d of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // after the command's name (in parentheses, which it may hold too): state, then the parent's pid
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  const todo = [pid];
  for (let p = todo.shift(); p !== undefined; p = todo.shift()) {
    try {
      if (fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'gst-launch-1.0') return p;
    } catch {
      continue; // gone meanwhile
    }
    todo.push(...(children.get(p) ?? []));
  }
  return undefined;
}

/** Whether pid has a handler for signal (its bit in SigCgt in its status). */
function catches(pid, signal) {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(signal - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** Whether gst-launch-1.0 pid runs with -e (--eos-on-shutdown, or -e among other short options). */
function eosOnShutdown(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1)
      .some((a) => a === '--eos-on-shutdown' || /^-[a-zA-Z]*e[a-zA-Z]*$/.test(a));
  } catch {
    return false;
  }
}

/**
 * Rescues proc, a gst-launch-1.0 or a wrapper that started one (sh -c,
 * script, env...) with its stdout and stderr piped, from a lost quit
 * (LOST_QUIT_MS), and one run with -e from the forced EOS that never comes
 * (FORCED_EOS_MS). It reads both streams beside their other readers.
 */
export function rescueLostQuit(proc) {
  let timer;
  let prerollFailed = false;
  let leftLoop = false;
  const running = () => proc.exitCode === null && proc.signalCode === null;
  // still in its loop: not ended, and not (as far as it said) tearing down
  const stuck = () => running() && !leftLoop;
  const forcedEosLost = (gst) => {
    if (stuck() && gstLaunchProcess(proc.pid) === gst && !catches(gst, SIGINT) && catches(gst, SIGHUP)) process.kill(gst, 'SIGINT');
  };
  const quitLost = () => {
    if (!stuck()) return;
    const gst = gstLaunchProcess(proc.pid);
    if (gst === undefined || !catches(gst, SIGINT)) return;
    process.kill(gst, 'SIGINT');
    if (eosOnShutdown(gst)) timer = setTimeout(() => forcedEosLost(gst), FORCED_EOS_MS);
  };
  const onLine = (line) => {
    // (through script, gst-launch's stderr comes on the terminal: the child's stdout, each line ending in \r)
    if (line.startsWith('Setting pipeline to NULL')) leftLoop = true;
    if (!prerollFailed && line.includes("ERROR: pipeline doesn't want to preroll.")) {
      prerollFailed = true;
      if (running()) timer = setTimeout(quitLost, LOST_QUIT_MS);
    }
  };
  for (const stream of [proc.stdout, proc.stderr]) {
    let partial = '';
    stream.on('data', (d) => {
      const lines = (partial + String(d)).split('\n');
      partial = lines.pop();
      lines.forEach(onLine);
    });
  }
  proc.once('exit', () => clearTimeout(timer));
}
