// The service's web page in headless Chromium: upload a gallery image through the file chooser,
// wait for k results whose thumbnails load, with no console error, nothing fetched from elsewhere,
// and a screenshot that is not blank. SERVE_PAGE_INDEX runs it on another index (e.g. a
// Fashion-MNIST one) and SERVE_SCREENSHOT keeps the screenshot (docs/serve-page.png is made so).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openIndex, type GalleryIndex } from '../../src/retrieval/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { findChromium, isBlankScreenshot, launchChromium, pixelSpread } from '../helpers/browser.js';
import { buildServeFixture } from './fixture.js';

const chromium = findChromium();
const skip = chromium ? false : "chromium is not installed (scripts/setup.sh installs Debian's chromium; or set CHROMIUM_PATH)";
const K = 8;

interface PageResult {
  consoleErrors: string[];
  pageErrors: string[];
  foreignRequests: string[];
  results: { label: string; score: string; naturalWidth: number }[];
  queryWidth: number;
  screenshot: Buffer;
}

describe('search page in a browser', { skip }, () => {
  let index: GalleryIndex;
  let server: RunningServer;
  let query: string;
  let result: PageResult;

  before(async () => {
    let dir: string;
    if (process.env.SERVE_PAGE_INDEX) {
      dir = process.env.SERVE_PAGE_INDEX;
      index = openIndex(dir);
    } else {
      const fixture = await buildServeFixture('serve-page', 6);
      dir = fixture.index;
      index = openIndex(dir);
    }
    server = await startServer(index, { port: 0, token: 'page-token' });
    // The query: a gallery image, written to a file for the file chooser.
    const image = await index.itemImage(Math.min(7, index.size - 1));
    query = join(dir, '..', `page-query.${image.contentType.split('/')[1]}`);
    writeFileSync(query, image.bytes);
    result = await searchInPage(`${server.url}/?token=page-token`, query);
    if (process.env.SERVE_SCREENSHOT) writeFileSync(process.env.SERVE_SCREENSHOT, result.screenshot);
  });
  after(async () => {
    await server?.close();
    await index?.close();
  });

  it('shows the query and its k nearest gallery images, each loaded, with label and score', () => {
    assert.ok(result.queryWidth > 0, 'the query image is shown');
    assert.equal(result.results.length, K);
    for (const [i, r] of result.results.entries()) {
      assert.ok(r.naturalWidth > 0, `thumbnail ${i} did not load`);
      assert.match(r.label, new RegExp(`^${i + 1}\\. `));
      assert.match(r.score, /^score -?\d\.\d{4}$/);
    }
    assert.equal(result.results[0]!.score, 'score 1.0000', 'the gallery image finds itself first');
  });

  it('logs no console or page errors and fetches nothing from elsewhere', () => {
    assert.deepEqual(result.consoleErrors, []);
    assert.deepEqual(result.pageErrors, []);
    assert.deepEqual(result.foreignRequests, []);
  });

  it('renders a screenshot that is not blank', async () => {
    assert.equal(await isBlankScreenshot(result.screenshot), false, `pixel spread ${await pixelSpread(result.screenshot)}`);
  });
});

async function searchInPage(url: string, file: string): Promise<PageResult> {
  const timeout = 60_000;
  const browser = await launchChromium(chromium!, timeout);
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    await page.setViewport({ width: 1000, height: 700 });
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const foreignRequests: string[] = [];
    const origin = new URL(url).origin;
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
    page.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')) foreignRequests.push(u);
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.evaluate((k) => ((document.getElementById('k') as HTMLInputElement).value = String(k)), K);
    const input = await page.$('#file');
    assert.ok(input, 'the page has a file chooser');
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(file);
    await page.waitForFunction(
      (k) => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('#results img')];
        return imgs.length === k && imgs.every((img) => img.complete && img.naturalWidth > 0);
      },
      {},
      K,
    );
    const results = await page.evaluate(() =>
      [...document.querySelectorAll('#results figure')].map((fig) => ({
        label: fig.querySelector('.label')?.textContent ?? '',
        score: fig.querySelector('.score')?.textContent ?? '',
        naturalWidth: (fig.querySelector('img') as HTMLImageElement).naturalWidth,
      })),
    );
    const queryWidth = await page.evaluate(() => (document.getElementById('query') as HTMLImageElement).naturalWidth);
    const screenshot = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }));
    return { consoleErrors, pageErrors, foreignRequests, results, queryWidth, screenshot };
  } finally {
    await browser.close();
  }
}
