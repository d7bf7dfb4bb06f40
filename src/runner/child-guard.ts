// Children that never outlive us: each runs in its own process group
// (killed as a whole), under `setpriv --pdeathsig` where util-linux has it
// (the kernel sends the signal when we die, even by SIGKILL), and every
// group still running is killed when this process exits. What is left of a
// group once its leader exits is killed then, unless a stop (interruptGroup)
// is under way: a shell that dies of its SIGINT at once must not take the
// cleanup time of the readers it started in the background. The death signal
// is the only one such a child gets, nobody follows it up: SIGTERM (the
// default) ends anything that does not catch it; SIGINT lets a command that
// owns a ring clean up as on Ctrl-C (gst-launch dies of SIGTERM with its
// zerosrc ring left behind) but a gst-launch -e would wait for an EOS that a
// stuck source may never give. A child that gets SIGINT also ignores
// SIGPIPE (as Node and Python do): its stdout may be a pipe to us, read by
// nobody once we are dead, and gst-launch's "handling interrupt." into it
// killed it before its cleanup (one time in four).
import { execa, type Options, type ResultPromise } from 'execa';
import fs from 'node:fs';
import path from 'node:path';

/** The groups we started, by leader pid, until they are over. */
const groups = new Map<number, { leaderExited: boolean; interrupted: boolean }>();
let installed = false;
let setpriv: string | null | undefined;

/** The longest delay setTimeout takes (ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How often a stopped group is looked at, to end its schedule once no process of it is left (ms). */
const GROUP_POLL_MS = 50;

function killAll(): void {
  for (const pid of groups.keys()) killGroup(pid, 'SIGKILL');
  groups.clear();
}

/** The program's path as spawn would find it (on PATH, or as given when it has a slash), or null when none is executable. */
export function findProgram(file: string, searchPath = process.env['PATH'] ?? '/usr/bin:/bin', cwd = process.cwd()): string | null {
  const candidates = file.includes('/') ? [path.resolve(cwd, file)]
    : searchPath.split(path.delimiter).map((dir) => path.resolve(cwd, dir || '.', file));
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** setpriv's path, or null when there is none on PATH. */
export function findSetpriv(): string | null {
  if (setpriv === undefined) setpriv = findProgram('setpriv');
  return setpriv;
}

/** Sends signal to the process group led by pid; false when it is gone. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process of the group led by pgid is still there. Zombies answer
 * kill() too, and those of orphans wait for a reaper that may never come
 * (PID 1 of a container): only a member that is not one counts.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // after "pid (comm) ": state, ppid, pgrp
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** A stop under way (interruptGroup). */
export interface GroupInterrupt {
  /** The signals the group was sent so far, in order (SIGINT first). */
  readonly sent: readonly NodeJS.Signals[];
  /** Resolves once no process of the group is left, or its last signal was sent. */
  readonly over: Promise<void>;
}

/**
 * Stops the process group led by pid as Ctrl-C in its terminal would: SIGINT
 * now (gst-launch -e sends EOS, and without -e still stops its pipeline, so
 * zerosrc removes its ring; Python raises KeyboardInterrupt; SIGTERM would
 * kill either without cleanup), then each later signal of `then` at its time
 * (ms from now) for a group that ignores or outlasts it. The schedule holds
 * for the whole group, also once its leader has exited (spawnGuarded kills
 * the rest only when this process exits), and ends when the group is empty.
 */
export function interruptGroup(pid: number, then: ReadonlyArray<readonly [NodeJS.Signals, number]>): GroupInterrupt {
  const sent: NodeJS.Signals[] = [];
  const send = (signal: NodeJS.Signals): void => {
    if (killGroup(pid, signal)) sent.push(signal);
  };
  const group = groups.get(pid);
  if (group !== undefined) group.interrupted = true;
  let finish!: () => void;
  const over = new Promise<void>((resolve) => (finish = resolve));
  const end = (): void => {
    timers.forEach(clearTimeout);
    clearInterval(poll);
    if (group !== undefined) {
      group.interrupted = false;
      if (group.leaderExited) groups.delete(pid);
    }
    finish();
  };
  send('SIGINT');
  // Infinity (no limit): no later signal; setTimeout would take it, and any delay past 2^31 - 1 ms, as 1 ms
  const later = then.filter(([, afterMs]) => Number.isFinite(afterMs));
  const timers = later.map(([signal, afterMs], i) => setTimeout(() => {
    send(signal);
    if (i === later.length - 1) end();
  }, Math.min(afterMs, MAX_TIMER_MS)));
  const poll = setInterval(() => {
    // (a group whose leader runs is not empty: no need to read /proc)
    if (group?.leaderExited !== false && !groupAlive(pid)) end();
  }, GROUP_POLL_MS);
  return { sent, over };
}

export type GuardedOptions = Omit<Options, 'detached' | 'cleanup' | 'shell'>;

export interface GuardOptions {
  /** What the child gets when we die without running exit handlers (with setpriv). @default 'SIGTERM' */
  deathSignal?: 'SIGTERM' | 'SIGINT';
  /**
   * Run it with SIGPIPE ignored (set by sh, kept across exec, and inherited
   * by its children, whose shells cannot undo it): for a gst-launch given
   * SIGINT at our death, which prints into its stdout, a pipe to us, on its
   * way out and would die of SIGPIPE before its cleanup.
   */
  ignoreSigpipe?: boolean;
}

/**
 * Starts file with args in a new process group (no shell parses them); the
 * group is killed if we exit first. With setpriv, the child also gets
 * guard.deathSignal when we die without running exit handlers.
 */
export function spawnGuarded(
  file: string,
  args: readonly string[],
  options: GuardedOptions = {},
  guard: GuardOptions = {},
): ResultPromise {
  if (!installed) {
    process.on('exit', killAll);
    installed = true;
  }
  // setpriv runs the program: one that is not there would be setpriv's exit
  // status 127, not the spawn's ENOENT, which says what is missing and is not
  // retried. Spawned without it, it fails as it should.
  const env = options.env as Record<string, string | undefined> | undefined;
  const cwd = options.cwd === undefined ? undefined : String(options.cwd);
  const wrapper = findProgram(file, env?.['PATH'] ?? process.env['PATH'], cwd) === null ? null : findSetpriv();
  const deathSignal = guard.deathSignal ?? 'SIGTERM';
  const guarded = wrapper === null ? null : [wrapper, '--pdeathsig', deathSignal.slice(3), '--', file, ...args];
  const [cmd, argv] =
    guarded === null
      ? [file, args]
      : guard.ignoreSigpipe === true
        ? ['/bin/sh', ['-c', 'trap "" PIPE; exec "$0" "$@"', ...guarded]]
        : [guarded[0]!, guarded.slice(1)];
  const child = execa(cmd, argv, { ...options, detached: true, cleanup: false, shell: false } as Options);
  const pid = child.pid;
  if (pid !== undefined) {
    const group = { leaderExited: false, interrupted: false };
    groups.set(pid, group);
    // The group may hold grandchildren: kill what is left once the leader is
    // gone, unless a stop's schedule runs for them (interruptGroup).
    child.once('exit', () => {
      group.leaderExited = true;
      if (group.interrupted) return;
      killGroup(pid, 'SIGKILL');
      groups.delete(pid);
    });
  }
  return child;
}
