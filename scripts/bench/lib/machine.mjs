// What the numbers were measured on, for the report's header.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function read(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine() {
  const cpuinfo = read('/proc/cpuinfo');
  return {
    nproc: sh('nproc', []),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: sh('uname', ['-r']),
    os: /PRETTY_NAME="([^"]*)"/.exec(read('/etc/os-release'))?.[1] ?? 'unknown',
    gstreamer: sh('gst-launch-1.0', ['--version']).split('\n')[1] ?? 'unknown',
    node: process.version,
    // Huge pages back anonymous memory but not /dev/shm unless shmem_enabled says so.
    thp: read('/sys/kernel/mm/transparent_hugepage/enabled'),
    thpShmem: read('/sys/kernel/mm/transparent_hugepage/shmem_enabled'),
  };
}
