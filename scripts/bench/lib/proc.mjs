// Child processes with bounded waits: a benchmark that hangs must fail the
// run with a message, not eat the 10-minute budget.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/**
 * Starts cmd; resolves { code, signal, stdout, stderr } when it exits.
 * Stopped after timeoutMs (SIGTERM, SIGKILL 3 s later). options.stdio as for spawn; stdout and
 * stderr are collected when they are pipes (stdout not with rawStdout: the
 * caller reads its bytes).
 */
export function start(cmd, args, { timeoutMs = 60000, env, stdio = ['ignore', 'pipe', 'pipe'], rawStdout = false } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio });
  let stdout = '';
  let stderr = '';
  if (!rawStdout) child.stdout?.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d) => (stderr += d));
  // SIGTERM first: our helpers still write their report (frames so far).
  let killer;
  const timer = setTimeout(() => {
    child.kill('SIGTERM');
    killer = setTimeout(() => child.kill('SIGKILL'), 3000);
  }, timeoutMs);
  child.done = new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return child;
}

/** Runs cmd to its end; rejects with its stderr when it fails. */
export async function run(cmd, args, options) {
  const r = await start(cmd, args, options).done;
  if (r.code !== 0) {
    const why = r.signal ? `killed by ${r.signal} (timeout?)` : `exit ${r.code}`;
    throw new Error(`${cmd} ${args.join(' ')}: ${why}\n${r.stderr.trim()}`);
  }
  return r;
}

/** The last line of text that parses as a JSON object. */
export function lastJson(text, what) {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    if (line.startsWith('{')) {
      try {
        return JSON.parse(line);
      } catch {
        // not ours (a tool's own output); keep looking
      }
    }
  }
  throw new Error(`${what}: no JSON report in output:\n${text.slice(-2000)}`);
}

/** Reads the JSON report a helper wrote to file (and removes the file). */
export function readReport(file, what) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
    fs.rmSync(file, { force: true });
  } catch {
    // reported below
  }
  return lastJson(text, what);
}

/** Resolves once path exists (polls; rejects after ms). */
export async function waitForPath(path, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!fs.existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
