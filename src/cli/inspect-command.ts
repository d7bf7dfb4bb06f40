// `zerobuffer inspect NAME`: the OIEB of a ring, for people or as JSON.
import fs from 'node:fs';
import { ZeroBufferError } from '../errors.js';
import { fieldsReadBefore, inspectRing, type RingFields, type RingHealth } from '../rings.js';
import { channelRings } from './channel-rings.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { say, type CliIo } from './io.js';
import type { InspectArgs } from './parse-args.js';

function pid(p: number, alive: boolean): string {
  return p === 0 ? 'none' : `${p} (${alive ? 'alive' : 'dead'})`;
}

/** The health of a ring; of one the core refused, the fields it read (no utilisation or backlog). */
export function healthText(h: RingHealth | RingFields): string {
  const whole = 'band' in h;
  return [
    `ring:        ${h.name} (protocol ${h.version.slice(0, 3).join('.')})`,
    `metadata:    ${h.metadataWrittenBytes} of ${h.metadataSize} bytes written`,
    `payload:     ${h.payloadSize} bytes, ${whole ? `${h.payloadUsedBytes} used, ` : ''}${h.payloadFreeBytes} free`,
    ...whole ? [`utilisation: ${h.utilisationPercent.toFixed(1)}% (${h.band})`] : [],
    `positions:   write ${h.writePos}, read ${h.readPos}`,
    `counts:      written ${h.writtenCount}, read ${h.readCount} (wrap markers included; small tails: writer only)`,
    ...whole ? [`backlog:     ${h.framesUnread} unread, ${h.framesHeld} read, not given back`] : [],
    `reader:      ${pid(h.readerPid, h.readerAlive)}`,
    `writer:      ${pid(h.writerPid, h.writerAlive)}`,
  ].join('\n');
}

export async function inspectCommand(args: InspectArgs, io: CliIo): Promise<ExitCode> {
  let h: RingHealth;
  try {
    h = inspectRing(args.name);
  } catch (e) {
    if (e instanceof ZeroBufferError) {
      // A segment that is there but not ready (empty, or a zero header) is
      // judged by the core from its lock file (zb_health_read): still being
      // created (ENOENT, try again), a leftover no reader holds
      // (EREADERGONE, which cleanup removes) or no ring (EPROTO). The list
      // helps only when there is no segment at all.
      const missing = e.code === 'ENOENT' && !fs.existsSync(`/dev/shm/${args.name}`);
      const channel = missing ? channelRings(args.name) : undefined;
      if (channel !== undefined) {
        const text = `${args.name} is a duplex channel, not a ring: its rings are ${channel.request} and ${channel.response} ` +
          `(zerobuffer inspect ${channel.request})`;
        if (args.json) say(io.stdout, JSON.stringify({ name: args.name, error: text, code: e.code }));
        else say(io.stderr, `zerobuffer inspect: ${text}`);
        return EXIT.ring;
      }
      const hint = missing ? ' (zerobuffer cleanup --dry-run lists the rings on this machine)' : '';
      // A ring refused for what its OIEB or entries say: the fields read, then why (the status stays the error's).
      const fields = fieldsReadBefore(args.name, e);
      // --json: the failure as JSON too, as cleanup --json reports its own
      if (args.json) say(io.stdout, JSON.stringify({ name: args.name, ...fields, error: `${e.message}${hint}`, code: e.code }));
      else {
        if (fields !== undefined) say(io.stdout, healthText(fields));
        say(io.stderr, `zerobuffer inspect: ${e.message} (${e.code})${hint}`);
      }
      return EXIT.ring;
    }
    throw e;
  }
  say(io.stdout, args.json ? JSON.stringify(h) : healthText(h));
  return EXIT.ok;
}
