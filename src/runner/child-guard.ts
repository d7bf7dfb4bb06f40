// Children that never outlive us: each runs in its own process group
// (killed as a whole), and every group still running is killed when this
// process exits. What is left of a group once its leader exits is killed
// then, unless a stop (interruptGroup) is under way: a shell that dies of its
// SIGINT at once must not take the cleanup time of the readers it started in
// the background.
//
// When we die without running exit handlers (SIGKILL), the child's group gets
// its death signal, once, from a guard process: a shell that reads a pipe
// from us and, when the pipe closes with no word from us (we died), sends
// the group the signal and then SIGCONT (a group we had stopped for Ctrl-Z
// would otherwise keep the signal pending, and its rings, for ever; the
// kernel's parent-death signal, `setpriv --pdeathsig`, cannot continue it),
// then the later signals of its escalation, if any, to a group still there
// (the schedule a stop of ours would keep: one that ignores SIGINT ends all the same).
// SIGTERM (the default) ends anything that does not catch it. SIGINT lets a
// command that owns a ring clean up as on Ctrl-C (gst-launch dies of SIGTERM
// with its zerosrc ring left behind; a gst-launch -e would wait for an EOS
// that a stuck source may never give), and must come once: gst-launch, whose
// first SIGINT restores the default action, died of a second during its
// cleanup. The child waits for its guard: a shell reads a go from us on its
// fd 3 before it execs the program, and ends without running it if we died
// before the guard was there. A stop (interruptGroup) disarms a SIGINT
// guard: the group has its SIGINT; a guard that sends only the escalation,
// timed from our death, takes its place. A child that gets SIGINT also ignores
// SIGPIPE (as Node and Python do): its stdout may be a pipe to us, read by
// nobody once we are dead, and gst-launch's "handling interrupt." into it
// killed it before its cleanup (one time in four).
//
// The timers of a stop's schedule (scheduleTimer) do not count the time this
// process was stopped (Ctrl-Z): its children were stopped too, and at fg
// must not be killed for a cleanup they had no time to do.
import { execa, type Options, type ResultPromise } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';

interface Group {
  leaderExited: boolean;
  interrupted: boolean;
  /** The guard that sends the group its death signal if we die (startDeathGuard). */
  deathGuard?: ChildProcess;
  /** What the guard sends. */
  deathSignal: DeathSignal;
  /** What the guard sends after it to a group still there. */
  escalation: Escalation;
}

type DeathSignal = 'SIGTERM' | 'SIGINT';

/** Later signals for a group still there, each at its time (ms after the first signal; Infinity: never). */
export type Escalation = ReadonlyArray<readonly [NodeJS.Signals, number]>;

/** The groups we started, by leader pid, until they are over. */
const groups = new Map<number, Group>();
let installed = false;

/** The longest delay setTimeout takes (ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How often a stopped group is looked at, to end its schedule once no process of it is left (ms). */
const GROUP_POLL_MS = 50;

/** A timer of scheduleTimer's, due at dueAt (performance.now()). */
interface ScheduledTimer {
  dueAt: number;
  handle: NodeJS.Timeout;
  readonly run: () => void;
  readonly unref: boolean;
}

/** The timers of scheduleTimer that have not run nor been cancelled. */
const scheduledTimers = new Set<ScheduledTimer>();

function armTimer(timer: ScheduledTimer): void {
  timer.handle = setTimeout(() => {
    scheduledTimers.delete(timer);
    timer.run();
  }, Math.min(Math.max(0, timer.dueAt - performance.now()), MAX_TIMER_MS));
  if (timer.unref) timer.handle.unref();
}

/**
 * Runs run after afterMs, not counting time this process spends stopped
 * (postponeTimers); returns what cancels it. unref: it does not keep the
 * process running.
 */
export function scheduleTimer(run: () => void, afterMs: number, { unref = false } = {}): () => void {
  const timer: ScheduledTimer = { dueAt: performance.now() + afterMs, handle: undefined!, run, unref };
  scheduledTimers.add(timer);
  armTimer(timer);
  return () => {
    clearTimeout(timer.handle);
    scheduledTimers.delete(timer);
  };
}

/** Moves every pending scheduleTimer on by ms: the time this process was stopped. */
export function postponeTimers(ms: number): void {
  for (const timer of scheduledTimers) {
    clearTimeout(timer.handle);
    timer.dueAt += ms;
    armTimer(timer);
  }
}

/** Kills every group we started, at once (SIGKILL): as this process exits, or on a second Ctrl-C. */
export function killAllGroups(): void {
  // the guards first: the pipe closing as we exit must not make them signal groups killed here
  for (const group of groups.values()) group.deathGuard?.kill('SIGKILL');
  for (const pid of groups.keys()) killGroup(pid, 'SIGKILL');
  groups.clear();
}

/**
 * Sends signal to every group we started that is not over (a stop's
 * schedule may still run for one whose leader exited): SIGSTOP and SIGCONT
 * take them along when this process is suspended and continued (job
 * control: in sessions of their own, they hear no terminal's Ctrl-Z).
 */
export function signalAllGroups(signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of groups.keys()) killGroup(pid, signal);
}

/** The group led by pid is over: it is forgotten, and its guard, whose signal could reach another group with its id later, goes. */
function forgetGroup(pid: number): void {
  groups.get(pid)?.deathGuard?.kill('SIGKILL');
  groups.delete(pid);
}

/** The guard's script: $1 the group, $2 its signal ("-": none), then pairs of a later signal and its time in tenths of a second. */
const DEATH_GUARD_SCRIPT = `read -r _ || {
  g=-$1; [ "$2" = - ] || kill -s "$2" -- "$g"; kill -s CONT -- "$g"; shift 2; t=0
  while [ $# -gt 1 ]; do
    while [ $t -lt "$2" ] && kill -s 0 -- "$g"; do sleep 0.1; t=$((t + 1)); done
    kill -s "$1" -- "$g" || exit 0
    shift 2
  done
} 2>/dev/null`;

/**
 * A process that sends the group `pgid` signal once (undefined: none), then
 * SIGCONT, then each signal of escalation at its time while the group is
 * still there, when its stdin, a pipe from us, closes without a line: when
 * we die. It is in a session of its own, out of reach of the terminal's
 * Ctrl-C, and does not keep us running.
 */
function startDeathGuard(pgid: number, signal: DeathSignal | undefined, escalation: Escalation): ChildProcess {
  const later = escalation.filter(([, afterMs]) => Number.isFinite(afterMs))
    .flatMap(([laterSignal, afterMs]) => [laterSignal.slice(3), String(Math.ceil(afterMs / 100))]);
  const guard = spawn('/bin/sh', ['-c', DEATH_GUARD_SCRIPT, 'zerobuffer-death-guard', String(pgid), signal?.slice(3) ?? '-', ...later],
    { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  guard.on('error', () => {}); // no /bin/sh: the child runs unguarded
  guard.stdin!.on('error', () => {});
  guard.unref();
  return guard;
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
 * (ms from now, not counting time we are stopped) for a group that ignores
 * or outlasts it; each but SIGKILL followed by SIGCONT, so that a process
 * stopped handles it. The schedule holds
 * for the whole group, also once its leader has exited (spawnGuarded kills
 * the rest only when this process exits), and ends when the group is empty.
 */
export function interruptGroup(pid: number, then: Escalation): GroupInterrupt {
  const sent: NodeJS.Signals[] = [];
  const send = (signal: NodeJS.Signals): void => {
    if (!killGroup(pid, signal)) return;
    sent.push(signal);
    // a stopped process would keep it pending, and its ring, until the SIGKILL: as the death guard does
    if (signal !== 'SIGKILL') killGroup(pid, 'SIGCONT');
  };
  const group = groups.get(pid);
  if (group !== undefined) {
    group.interrupted = true;
    if (group.deathSignal === 'SIGINT' && group.deathGuard !== undefined) {
      // the group has its SIGINT: a second one at our death would cut its cleanup short; the rest still comes
      group.deathGuard.kill('SIGKILL');
      group.deathGuard = group.escalation.length > 0 ? startDeathGuard(pid, undefined, group.escalation) : undefined;
    }
  }
  let finish!: () => void;
  const over = new Promise<void>((resolve) => (finish = resolve));
  const end = (): void => {
    timers.forEach((cancel) => cancel());
    clearInterval(poll);
    if (group !== undefined) {
      group.interrupted = false;
      if (group.leaderExited) forgetGroup(pid);
    }
    finish();
  };
  send('SIGINT');
  // Infinity (no limit): no later signal; setTimeout would take it, and any delay past 2^31 - 1 ms, as 1 ms
  const later = then.filter(([, afterMs]) => Number.isFinite(afterMs));
  const timers = later.map(([signal, afterMs], i) => scheduleTimer(() => {
    send(signal);
    if (i === later.length - 1) end();
  }, afterMs));
  const poll = setInterval(() => {
    // (a group whose leader runs is not empty: no need to read /proc)
    if (group?.leaderExited !== false && !groupAlive(pid)) end();
  }, GROUP_POLL_MS);
  return { sent, over };
}

/** execa's options; stdin, stdout and stderr are given each on its own, not as `stdio`. */
export type GuardedOptions = Omit<Options, 'detached' | 'cleanup' | 'shell' | 'stdio'>;

export interface GuardOptions {
  /**
   * What the child's group gets, then SIGCONT, from a guard process when we
   * die without running exit handlers.
   * @default 'SIGTERM'
   */
  deathSignal?: DeathSignal;
  /**
   * What the guard sends after the death signal to a group still there, each
   * signal at its time (ms after it; Infinity: never), as interruptGroup's
   * `then`: a command that ignores SIGINT is stopped as a stop of ours would stop it.
   * @default [] (none)
   */
  deathEscalation?: Escalation;
  /**
   * Run it with SIGPIPE ignored (set by sh, kept across exec, and inherited
   * by its children, whose shells cannot undo it): for a gst-launch given
   * SIGINT at our death, which prints into its stdout, a pipe to us, on its
   * way out and would die of SIGPIPE before its cleanup.
   */
  ignoreSigpipe?: boolean;
  /**
   * What becomes of the group once its leader exits while no stop
   * (interruptGroup) runs for it: 'kill' kills what is left at once; 'keep'
   * leaves it to the caller, who stops it with interruptGroup (it is killed
   * all the same if this process exits first).
   * @default 'kill'
   */
  leftovers?: 'kill' | 'keep';
}

/**
 * Starts file with args in a new process group (no shell parses them); the
 * group is killed if we exit first, and gets guard.deathSignal if we die
 * without running exit handlers. The child's pid is the program's: a shell
 * waits for the go, then execs it.
 */
export function spawnGuarded(
  file: string,
  args: readonly string[],
  options: GuardedOptions = {},
  guard: GuardOptions = {},
): ResultPromise {
  if (!installed) {
    process.on('exit', killAllGroups);
    installed = true;
  }
  // sh runs the program: one that is not there would be its exit status
  // 127, not the spawn's ENOENT, which says what is missing and is not
  // retried. Spawned without it, it fails as it should.
  const env = options.env as Record<string, string | undefined> | undefined;
  const cwd = options.cwd === undefined ? undefined : String(options.cwd);
  const found = findProgram(file, env?.['PATH'] ?? process.env['PATH'], cwd) !== null;
  const deathSignal = guard.deathSignal ?? 'SIGTERM';
  let command = [file, ...args];
  let launch: Options = options;
  if (found) {
    const script = `${guard.ignoreSigpipe === true ? 'trap "" PIPE; ' : ''}read -r _ <&3 || exit 1; exec 3<&-; exec "$0" "$@"`;
    command = ['/bin/sh', '-c', script, ...command];
    const { stdin = 'pipe', stdout = 'pipe', stderr = 'pipe', ...rest } = options;
    launch = { ...rest, stdio: [stdin, stdout, stderr, 'pipe'] } as Options;
  }
  const child = execa(command[0]!, command.slice(1), { ...launch, detached: true, cleanup: false, shell: false } as Options);
  const pid = child.pid;
  if (pid !== undefined) {
    const group: Group = { leaderExited: false, interrupted: false, deathSignal, escalation: guard.deathEscalation ?? [] };
    if (found) {
      group.deathGuard = startDeathGuard(pid, deathSignal, group.escalation);
      const go = child.stdio[3] as Writable;
      go.on('error', () => {}); // the shell is gone already (killed): its exit tells
      go.end('go\n');
    }
    groups.set(pid, group);
    // The group may hold grandchildren: kill what is left once the leader is
    // gone, unless a stop's schedule runs for them (interruptGroup) or the caller keeps them to stop.
    child.once('exit', () => {
      group.leaderExited = true;
      if (group.interrupted || guard.leftovers === 'keep') return;
      killGroup(pid, 'SIGKILL');
      forgetGroup(pid);
    });
  }
  return child;
}
