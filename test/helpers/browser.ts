// Opens a local HTML file in the system's headless Chromium (through puppeteer-core, which never
// downloads a browser) and reports what a reader would see: errors, drawn chart marks, loaded
// images, every request the page made, and a screenshot.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import sharp from 'sharp';

/** The Chromium to use: $CHROMIUM_PATH, else Debian's; undefined when none is installed. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

export interface ChartMarks {
  /** Position of the <svg> among the page's top-level SVGs. */
  index: number;
  /** Data marks (shapes inside Vega's role-mark groups) whose bounding box is not empty. */
  marks: number;
  width: number;
  height: number;
}

export interface PageInspection {
  consoleErrors: string[];
  pageErrors: string[];
  /** Every URL the page requested (the file itself, data: URIs, anything else). */
  requests: string[];
  /** Requests to anything but the file and data: URIs; they were aborted. */
  blockedRequests: string[];
  charts: ChartMarks[];
  images: { alt: string; naturalWidth: number; naturalHeight: number }[];
  /** Full-page PNG. */
  screenshot: Buffer;
}

export interface InspectOptions {
  viewport?: { width: number; height: number };
  timeoutMs?: number;
}

/** Headless Chromium as the page tests run it; every launch and protocol call bounded by `timeout` ms. */
export function launchChromium(executablePath: string, timeout: number): Promise<Browser> {
  // Containers run as root without a usable sandbox, GPU or large /dev/shm.
  return puppeteer.launch({
    executablePath,
    headless: true,
    timeout,
    protocolTimeout: timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

export async function inspectPage(file: string, options: InspectOptions = {}): Promise<PageInspection> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no Chromium found (install Debian\'s chromium or set CHROMIUM_PATH)');
  const timeout = options.timeoutMs ?? 60_000;
  const browser = await launchChromium(executablePath, timeout);
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    await page.setViewport(options.viewport ?? { width: 1200, height: 900 });
    const url = pathToFileURL(file).href;
    const result: Omit<PageInspection, 'charts' | 'images' | 'screenshot'> = { consoleErrors: [], pageErrors: [], requests: [], blockedRequests: [] };
    page.on('console', (m) => {
      if (m.type() === 'error') result.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => result.pageErrors.push(e instanceof Error ? e.message : String(e)));
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const u = req.url();
      result.requests.push(u);
      if (u === url || u.startsWith('data:')) void req.continue();
      else {
        result.blockedRequests.push(u);
        void req.abort();
      }
    });
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('svg')]
        .filter((svg) => !svg.parentElement?.closest('svg'))
        .map((svg, index) => {
          const shapes = [...svg.querySelectorAll('.role-mark path, .role-mark line, .role-mark rect, .role-mark circle')] as SVGGraphicsElement[];
          const marks = shapes.filter((s) => {
            const box = s.getBBox();
            return box.width > 0 || box.height > 0;
          }).length;
          const rect = svg.getBoundingClientRect();
          return { index, marks, width: rect.width, height: rect.height };
        }),
    );
    const images = await page.evaluate(() => [...document.images].map((img) => ({ alt: img.alt, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight })));
    const screenshot = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }));
    return { ...result, charts, images, screenshot };
  } finally {
    await browser.close();
  }
}

/** Largest per-channel standard deviation of an image's pixels (0 for a single flat colour). */
export async function pixelSpread(png: Buffer): Promise<number> {
  const stats = await sharp(png).stats();
  return Math.max(...stats.channels.map((c) => c.stdev));
}

/** A screenshot is blank when no channel varies by more than `minStdev` grey levels. */
export async function isBlankScreenshot(png: Buffer, minStdev = 4): Promise<boolean> {
  return (await pixelSpread(png)) < minStdev;
}
