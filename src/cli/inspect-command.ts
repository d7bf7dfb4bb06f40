// `zerobuffer inspect NAME`: the OIEB of a ring, for people or as JSON.
import { ZeroBufferError } from '../errors.js';
import { inspectRing, type RingHealth } from '../rings.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { InspectArgs } from './parse-args.js';

function pid(p: number, alive: boolean): string {
  return p === 0 ? 'none' : `${p} (${alive ? 'alive' : 'dead'})`;
}

export function healthText(h: RingHealth): string {
  return [
    `ring:        ${h.name} (protocol ${h.version.slice(0, 3).join('.')})`,
    `metadata:    ${h.metadataWrittenBytes} of ${h.metadataSize} bytes written`,
    `payload:     ${h.payloadSize} bytes, ${h.payloadUsedBytes} used, ${h.payloadFreeBytes} free`,
    `utilisation: ${h.utilisationPercent.toFixed(1)}% (${h.band})`,
    `positions:   write ${h.writePos}, read ${h.readPos}`,
    `counts:      written ${h.writtenCount}, read ${h.readCount} (wrap markers included)`,
    `reader:      ${pid(h.readerPid, h.readerAlive)}`,
    `writer:      ${pid(h.writerPid, h.writerAlive)}`,
  ].join('\n');
}

export async function inspectCommand(args: InspectArgs, io: CliIo): Promise<ExitCode> {
  let h: RingHealth;
  try {
    h = inspectRing(args.name);
  } catch (e) {
    if (e instanceof TypeError) {
      say(io.stderr, `zerobuffer inspect: ${e.message}`);
      return EXIT.usage;
    }
    if (e instanceof ZeroBufferError) {
      const hint = e.code === 'ENOENT' ? ' (zerobuffer cleanup --dry-run lists the rings on this machine)' : '';
      say(io.stderr, `zerobuffer inspect: ${e.message} (${e.code})${hint}`);
      return EXIT.ring;
    }
    throw e;
  }
  say(io.stdout, args.json ? JSON.stringify(h) : healthText(h));
  return EXIT.ok;
}
