// The report page as a reader sees it: opened from disk in headless Chromium, it must show every
// chart with marks, load every image, log no error, fetch nothing but itself, and not be blank.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { findChromium, inspectPage, isBlankScreenshot, pixelSpread, type PageInspection } from '../helpers/browser.js';
import { buildSyntheticReport } from './report-fixture.js';

const chromium = findChromium();
const skip = chromium ? false : 'chromium is not installed (scripts/setup.sh installs Debian\'s chromium; or set CHROMIUM_PATH)';

describe('report page in a browser', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-report-page-'));
  const file = join(dir, 'report.html');
  let page: PageInspection;

  before(async () => {
    writeFileSync(file, await buildSyntheticReport());
    page = await inspectPage(file);
    writeFileSync(join(dir, 'report.png'), page.screenshot);
    // Keep a copy of the screenshot for a person to look at, when asked to.
    if (process.env.REPORT_SCREENSHOT) copyFileSync(join(dir, 'report.png'), process.env.REPORT_SCREENSHOT);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('logs no console or page errors', () => {
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.pageErrors, []);
  });

  it('draws marks in every chart', () => {
    assert.equal(page.charts.length, 4, 'difference, training, robustness and embedding charts');
    for (const chart of page.charts) {
      assert.ok(chart.marks > 0, `chart ${chart.index} has no drawn marks`);
      assert.ok(chart.width > 100 && chart.height > 50, `chart ${chart.index} is ${chart.width}x${chart.height}`);
    }
    // The embedding chart draws one symbol per mapped point: 2 methods x 200 points.
    assert.ok(page.charts.some((c) => c.marks >= 400), `marks per chart: ${page.charts.map((c) => c.marks).join(', ')}`);
  });

  it('loads every image', () => {
    assert.equal(page.images.length, 1 + 3 * 5, 'the RGB image and 3 gallery rows of a query and 4 neighbours');
    for (const img of page.images) assert.ok(img.naturalWidth > 0, `image "${img.alt}" did not load`);
    const thumb = page.images.find((i) => i.alt.startsWith('query 1'));
    assert.equal(thumb?.naturalWidth, 112, '28x28 thumbnails are enlarged 4x');
  });

  it('requests nothing but the file itself and data: URIs', () => {
    assert.deepEqual(page.blockedRequests, []);
    const url = pathToFileURL(file).href;
    assert.ok(page.requests.includes(url));
    for (const r of page.requests) assert.ok(r === url || r.startsWith('data:'), `unexpected request ${r.slice(0, 80)}`);
  });

  it('renders a screenshot that is not blank', async () => {
    assert.equal(await isBlankScreenshot(page.screenshot), false, `pixel spread ${await pixelSpread(page.screenshot)}`);
  });
});

describe('blank-screenshot check', { skip }, () => {
  it('calls a page with nothing on it blank', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdprop-blank-page-'));
    try {
      const file = join(dir, 'blank.html');
      writeFileSync(file, '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>');
      const blank = await inspectPage(file, { viewport: { width: 400, height: 300 } });
      assert.equal(await isBlankScreenshot(blank.screenshot), true);
      assert.deepEqual(blank.charts, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
