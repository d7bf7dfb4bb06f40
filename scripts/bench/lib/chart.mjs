// The chart image: plain bars on a white canvas rasterized by hand and
// encoded by sharp (already a dependency, for frames), so no SVG converter or
// browser is needed on a CI machine.
import sharp from 'sharp';
import { drawText, textWidth } from './font.mjs';

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#9c755f'];
const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

class Canvas {
  constructor(w, h) {
    this.data = Buffer.alloc(w * h * 4, 255); // RGBA
    this.w = w;
    this.h = h;
  }
  rect(x, y, w, h, hex) {
    const [r, g, b] = rgb(hex);
    for (let j = Math.max(0, Math.round(y)); j < Math.min(this.h, Math.round(y + h)); j++) {
      for (let i = Math.max(0, Math.round(x)); i < Math.min(this.w, Math.round(x + w)); i++) {
        const o = (j * this.w + i) * 4;
        this.data[o] = r;
        this.data[o + 1] = g;
        this.data[o + 2] = b;
      }
    }
  }
  text(x, y, s, hex = '#222222', scale = 2) {
    return drawText((i, j) => this.rect(i, j, 1, 1, hex), x, y, s, scale);
  }
}

/**
 * Horizontal bar groups: groups = [{ title, bars: [{ label, value, note }] }],
 * each group scaled to its own maximum (values are not comparable across groups).
 */
function barGroups(cv, top, title, groups) {
  cv.text(20, top, title, '#000000', 3);
  let y = top + 40;
  const labelW = 20 + Math.max(...groups.flatMap((g) => g.bars.map((b) => textWidth(b.label, 2)))) + 12;
  const barMax = cv.w - labelW - 230;
  for (const g of groups) {
    cv.text(20, y, g.title, '#000000', 2);
    y += 24;
    const max = Math.max(...g.bars.map((b) => b.value).filter(Number.isFinite), 1e-9);
    g.bars.forEach((b, i) => {
      cv.text(20, y + 4, b.label);
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * barMax) : 0;
      cv.rect(labelW, y, w, 20, COLORS[i % COLORS.length]);
      cv.text(labelW + w + 8, y + 4, Number.isFinite(b.value) ? b.note : 'FAILED');
      y += 26;
    });
    y += 14;
  }
  return y;
}

/** Vertical grouped bars on a log10 axis: series = [{ name, values[] }] over categories. */
function logBars(cv, top, height, title, categories, series, unit) {
  cv.text(20, top, title, '#000000', 3);
  const x0 = 90;
  const y0 = top + 50;
  const plotH = height - 120;
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.floor(Math.log10(Math.min(...all)));
  const hi = Math.ceil(Math.log10(Math.max(...all)));
  const yOf = (v) => y0 + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
  for (let e = lo; e <= hi; e++) {
    cv.rect(x0, yOf(10 ** e), cv.w - x0 - 20, 1, '#dddddd');
    cv.text(20, yOf(10 ** e) - 7, `${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}`);
  }
  const slot = (cv.w - x0 - 40) / categories.length;
  const barW = Math.max(3, (slot - 12) / series.length);
  categories.forEach((c, i) => {
    series.forEach((s, k) => {
      const v = s.values[i];
      if (!(v > 0)) return;
      const y = yOf(v);
      cv.rect(x0 + 10 + i * slot + k * barW, y, barW - 2, y0 + plotH - y, COLORS[k % COLORS.length]);
    });
    cv.text(x0 + 10 + i * slot, y0 + plotH + 10, c);
  });
  cv.text(20, y0 + plotH + 34, unit);
  let lx = x0;
  series.forEach((s, k) => {
    cv.rect(lx, y0 + plotH + 60, 16, 16, COLORS[k % COLORS.length]);
    lx += 24 + cv.text(lx + 22, y0 + plotH + 62, s.name) + 20;
  });
  return top + height;
}

/** Writes the PNG: throughput per method (top), the size sweep (bottom). */
export async function writeChart(file, { title, groups, sweep }) {
  const groupsH = 60 + groups.reduce((h, g) => h + 38 + g.bars.length * 26, 0);
  const cv = new Canvas(1400, 60 + groupsH + 480);
  cv.text(20, 16, title, '#000000', 3);
  const y = barGroups(cv, 60, 'Frames per second (median of rounds; longer is better)', groups);
  logBars(cv, y + 10, 460, 'Frame-size sweep: GB/s, C writer to C reader (log scale)', sweep.categories, sweep.series, 'GB/S BY FRAME SIZE');
  await sharp(cv.data, { raw: { width: cv.w, height: cv.h, channels: 4 } }).png().toFile(file);
}
