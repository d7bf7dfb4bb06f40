import zlib from 'node:zlib'; import fs from 'node:fs';
const png = fs.readFileSync(process.argv[2]);
let ihdr; const idat = [];
for (let at = 8; at < png.length;) { const len = png.readUInt32BE(at); const t = png.toString('latin1', at + 4, at + 8); const b = png.subarray(at + 8, at + 8 + len); if (t === 'IHDR') ihdr = b; if (t === 'IDAT') idat.push(b); at += 12 + len; }
console.log('depth', ihdr[8], 'colour', ihdr[9], 'interlace', ihdr[12]);
const raw = zlib.inflateSync(Buffer.concat(idat)); console.log(raw.subarray(0, 33).toString('hex'));
