// The report page and gallery as strings: escaping, self-containment, table marks, PNG data: URIs
// and thumbnails enlarged pixel for pixel. The browser test checks the same page as rendered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { imageToPng, renderGallery, type PixelImage } from '../../src/report/pages/gallery.js';
import { differenceCell, formatInterval, pngDataUri, renderReportPage, type SvgMarkup } from '../../src/report/index.js';

const grey = (w: number, h: number, f: (x: number, y: number) => number): PixelImage => ({
  pixels: Float32Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))),
  width: w,
  height: h,
  channels: 1,
});

async function decode(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('report page', () => {
  it('escapes every text it is given', () => {
    const evil = '<script>alert("x")</script> & \'q\'';
    const page = renderReportPage({
      title: evil,
      subtitle: evil,
      sections: [
        { title: evil, blocks: [{ kind: 'paragraph', text: evil }, { kind: 'settings', settings: { [evil]: evil, n: 3, off: null } }] },
        { title: 'results', blocks: [{ kind: 'table', caption: evil, columns: [evil], rows: [[evil, { text: evil, mark: 'better', title: evil }]], note: evil }] },
      ],
    });
    assert.doesNotMatch(page, /<script/i);
    assert.match(page, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;q&#39;/);
  });

  it('is self-contained: a policy that forbids fetching, no external URLs', () => {
    const page = renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'paragraph', text: 'p' }] }] });
    assert.match(page, /Content-Security-Policy" content="default-src 'none'; img-src data:/);
    assert.doesNotMatch(page, /https?:|<link rel="stylesheet"|<script|@import|@font-face/);
  });

  it('gives sections unique anchors and a table of contents', () => {
    const page = renderReportPage({ title: 't', sections: [{ title: 'Clean results', blocks: [] }, { title: 'Clean results', blocks: [] }] });
    assert.match(page, /<section id="clean-results">/);
    assert.match(page, /<section id="clean-results-2">/);
    assert.match(page, /<a href="#clean-results-2">/);
  });

  it('embeds PNG images as data: URIs and refuses other bytes', async () => {
    const png = await imageToPng(grey(5, 3, (x) => x / 4), { scale: 2 });
    const page = renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'image', png, alt: 'ramp', caption: 'a ramp' }] }] });
    const uri = /<img src="data:image\/png;base64,([^"]+)" alt="ramp">/.exec(page);
    assert.ok(uri, 'image tag with a data: URI');
    assert.deepEqual((await decode(Buffer.from(uri[1]!, 'base64'))).width, 10);
    assert.throws(() => pngDataUri(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), /not a PNG/);
    assert.throws(() => renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'chart', svg: '<b>no</b>' as SvgMarkup }] }] }), /SVG markup/);
  });
});

describe('page blocks', () => {
  it('splits a long settings list into tables side by side, keeping every row once and in order', () => {
    const settings = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`k${i}`, i]));
    const page = renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'settings', caption: 'config', settings, columns: 2 }] }] });
    const tables = page.match(/<table class="settings">.*?<\/table>/g) ?? [];
    assert.equal(tables.length, 2);
    assert.deepEqual(tables.map((t) => [...t.matchAll(/<th scope="row">(k\d)<\/th>/g)].map((m) => m[1])), [['k0', 'k1', 'k2', 'k3'], ['k4', 'k5', 'k6']]);
    assert.match(page, /<div class="settings-row"><table class="settings"><caption>config<\/caption>/);
  });

  it('puts charts side by side in one figure and escapes headings', () => {
    const svg = '<svg></svg>' as SvgMarkup;
    const page = renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'heading', text: 'a<b' }, { kind: 'charts', svgs: [svg, svg], caption: 'two' }] }] });
    assert.match(page, /<h3>a&lt;b<\/h3>/);
    assert.match(page, /<figure><div class="chart-row"><div class="chart"><svg><\/svg><\/div><div class="chart"><svg><\/svg><\/div><\/div><figcaption>two<\/figcaption><\/figure>/);
    assert.throws(() => renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'charts', svgs: [svg, '<b>' as SvgMarkup] }] }] }), /SVG markup/);
  });
});

describe('table cells', () => {
  it('formats estimates with intervals, signed for differences', () => {
    assert.equal(formatInterval({ estimate: 0.8123, lo: 0.801, hi: 0.824 }, { scale: 100 }), '81.23 [80.10, 82.40]');
    assert.equal(formatInterval({ estimate: 0.012, lo: -0.00001, hi: 0.03 }, { scale: 100, signed: true }), '+1.20 [0.00, +3.00]');
    assert.equal(formatInterval({ estimate: 0.5, lo: 0.5, hi: 0.5 }), '0.50');
  });

  it('marks differences whose interval excludes zero by direction', () => {
    assert.deepEqual(differenceCell({ estimate: 0.02, lo: 0.01, hi: 0.03 }), { text: '+2.00 [+1.00, +3.00]', mark: 'better', title: '95% interval excludes 0' });
    assert.equal((differenceCell({ estimate: -0.02, lo: -0.03, hi: -0.01 }) as { mark?: string }).mark, 'worse');
    assert.equal((differenceCell({ estimate: -0.02, lo: -0.03, hi: -0.01 }, { higherIsBetter: false }) as { mark?: string }).mark, 'better');
    assert.equal((differenceCell({ estimate: 0.01, lo: -0.01, hi: 0.03, level: 0.9 }) as { mark?: string; title: string }).mark, undefined);
    const page = renderReportPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'table', columns: ['m', 'd'], rows: [['R@1', differenceCell({ estimate: 0.02, lo: 0.01, hi: 0.03 })]] }] }] });
    assert.match(page, /<th scope="row">R@1<\/th><td class="better" title="95% interval excludes 0">\+2\.00/);
  });
});

describe('gallery', () => {
  it('enlarges 28x28 images by whole pixels (nearest neighbour)', async () => {
    const img = grey(28, 28, (x, y) => ((x + y) % 2 ? 1 : 0.25));
    const out = await decode(await imageToPng(img));
    assert.deepEqual([out.width, out.height], [112, 112], 'scale 4 makes the longer side >= 96 px');
    for (const [x, y] of [[0, 0], [1, 0], [5, 9], [27, 27]] as const) {
      const expected = Math.round(255 * ((x + y) % 2 ? 1 : 0.25));
      for (let dy = 0; dy < 4; dy++)
        for (let dx = 0; dx < 4; dx++) assert.equal(out.data[((4 * y + dy) * 112 + 4 * x + dx) * out.channels], expected, `block (${x},${y})`);
    }
  });

  it('reads RGB as interleaved or planar, bytes as they are, floats clamped', async () => {
    const hwc = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    const chw = Uint8Array.from([255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30]);
    const a = await decode(await imageToPng({ pixels: hwc, width: 2, height: 2, channels: 3 }, { scale: 1 }));
    const b = await decode(await imageToPng({ pixels: chw, width: 2, height: 2, channels: 3, layout: 'chw' }, { scale: 1 }));
    assert.deepEqual([...a.data], [...hwc]);
    assert.deepEqual([...b.data], [...hwc]);
    const clamped = await decode(await imageToPng({ pixels: [-1, 0.5, 2, Number.NaN], width: 2, height: 2, channels: 1 }, { scale: 1 }));
    assert.deepEqual([...clamped.data].filter((_, i) => i % clamped.channels === 0), [0, 128, 255, 0]);
    await assert.rejects(imageToPng({ pixels: [1, 2], width: 2, height: 2, channels: 1 }), /2 values for 2x2x1/);
  });

  it('frames neighbours by correctness and escapes labels', async () => {
    const img = grey(8, 8, (x) => x / 7);
    const html = await renderGallery([
      { query: img, label: '<cat>', neighbours: [{ image: img, correct: true, label: '<cat>', distance: 0.1234 }, { image: img, correct: false, label: 'dog' }] },
      { query: img, neighbours: [{ image: img, correct: false }] },
    ]);
    assert.equal((html.match(/class="hit"/g) ?? []).length, 1);
    assert.equal((html.match(/class="miss"/g) ?? []).length, 2);
    assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 5);
    assert.match(html, /alt="neighbour 2 of query 1: wrong"/);
    assert.match(html, /&lt;cat&gt;/);
    assert.doesNotMatch(html, /<cat>/);
    assert.match(html, /d=0\.123/);
  });
});
