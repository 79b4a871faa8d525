// The run and experiment report pages built from a real (tiny) experiment directory, opened in
// headless Chromium as a reader would: no errors, marks in every chart, every image loaded,
// nothing fetched, not blank. Then `mdprop report` on the same folders.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { experimentRunPath, RunDirectory, type ExperimentFile } from '../../src/formats/index.js';
import { escapeHtml, summaryParagraphs, writeExperimentReport, writeRunReport } from '../../src/report/index.js';
import { findChromium, inspectPage, isBlankScreenshot, type PageInspection } from '../helpers/browser.js';
import { runMdprop } from '../helpers/cli.js';
import { buildExperimentDir } from './pages-fixture.js';

const skip = findChromium() ? false : "chromium is not installed (scripts/setup.sh installs Debian's chromium; or set CHROMIUM_PATH)";
const dir = mkdtempSync(join(tmpdir(), 'mdprop-report-pages-'));
const runDir = join(dir, experimentRunPath('mdprop', 0));
let experiment: ExperimentFile;

/** Opens a report and keeps its screenshot where $REPORT_SCREENSHOTS names (for a person to look at). */
async function inspect(file: string, name: string): Promise<PageInspection> {
  const page = await inspectPage(file);
  if (process.env.REPORT_SCREENSHOTS) writeFileSync(join(process.env.REPORT_SCREENSHOTS, name), page.screenshot);
  return page;
}

function assertReadable(page: PageInspection, charts: number, images: number, thumbnail: number): void {
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.pageErrors, []);
  assert.deepEqual(page.blockedRequests, []);
  assert.equal(page.charts.length, charts, 'charts on the page');
  for (const c of page.charts) assert.ok(c.marks > 0 && c.width > 100 && c.height > 50, `chart ${c.index}: ${c.marks} marks, ${c.width}x${c.height}`);
  assert.equal(page.images.length, images, 'gallery thumbnails');
  for (const img of page.images) assert.ok(img.naturalWidth > 0, `image "${img.alt}" did not load`);
  assert.equal(page.images[0]?.naturalWidth, thumbnail, '28x28 images enlarged by a whole factor');
}

before(async () => {
  experiment = await buildExperimentDir(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('run report', () => {
  let html: string;
  before(async () => {
    html = readFileSync(await writeRunReport(runDir), 'utf8');
  });

  it('shows settings, curves, clean and attacked results, map and gallery of the run', () => {
    for (const title of ['Settings', 'Training', 'Clean retrieval', 'Under attack', 'Embedding map', 'Retrieval gallery']) assert.ok(html.includes(`<h2>${title}</h2>`), title);
    const run = new RunDirectory(runDir);
    assert.ok(html.includes('<th scope="row">limitTest</th><td>40</td>'), 'config.json as a flat table');
    assert.ok(html.includes(`<td>${(100 * run.readSummary().test['recall@1']!).toFixed(2)}</td>`), "the summary's Recall@1");
    // The run's model is its final epoch's, and the page says so (best-test would be called optimistic).
    assert.equal(run.readSummary().model_selection, 'final');
    assert.match(html, /the final epoch(&#39;|'|&#x27;)s model/);
    assert.doesNotMatch(html, /optimistic/);
    const stax = run.readEval().attacks.find((a) => a.attack === 'stax' && a.eps === 0.2)!;
    assert.ok(html.includes(`<th scope="row">stax</th><td>0.2</td><td>2</td><td>${(100 * stax['recall@1']).toFixed(2)}</td>`), 'the eval.json row');
    assert.doesNotMatch(html, /No (metrics\.jsonl|summary\.json|eval\.json|views\.json)/);
  });

  it('reads in a browser: 4 charts with marks, 12 queries x 2 rows x 9 images, no errors, no requests', { skip }, async () => {
    const page = await inspect(join(runDir, 'report.html'), 'run-report.png');
    assertReadable(page, 4, 12 * 2 * 9, 84);
    assert.ok(Math.max(...page.charts.map((c) => c.marks)) >= 40, 'the map draws its 40 points');
    assert.equal(await isBlankScreenshot(page.screenshot), false);
  });

  it('leaves out what a run lacks, naming the command that writes it', async () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    for (const f of ['config.json', 'metrics.jsonl', 'summary.json']) copyFileSync(join(runDir, f), join(bare, f));
    const summary = JSON.parse(readFileSync(join(bare, 'summary.json'), 'utf8'));
    writeFileSync(join(bare, 'summary.json'), JSON.stringify({ ...summary, model_selection: 'final' }));
    const page = readFileSync(await writeRunReport(bare), 'utf8');
    assert.match(page, /No eval\.json in this run: `mdprop eval --run DIR` writes it\./);
    assert.match(page, /No views\.json in this run/);
    assert.match(page, /the final epoch&#39;s model/);
    assert.doesNotMatch(page, /optimistic|<img /);
  });

  it('keeps the page when the images a views.json names cannot be loaded', async () => {
    const odd = join(dir, 'odd-split');
    mkdirSync(odd);
    for (const f of ['config.json', 'summary.json']) copyFileSync(join(runDir, f), join(odd, f));
    const views = JSON.parse(readFileSync(join(runDir, 'views.json'), 'utf8'));
    writeFileSync(join(odd, 'views.json'), JSON.stringify({ ...views, query_split: 'query' }));
    const page = readFileSync(await writeRunReport(odd), 'utf8');
    assert.match(page, /could not be loaded: views\.json: query split &#39;query&#39; is not one of/);
    assert.ok(page.includes('<h2>Embedding map</h2>'), 'the map needs no images');
  });
});

describe('experiment report', () => {
  let html: string;
  before(async () => {
    html = readFileSync(await writeExperimentReport(dir), 'utf8');
  });

  it('holds the results table, the summary paragraphs and one gallery per method', () => {
    assert.ok(html.includes('<th scope="col">mdprop − baseline</th>'));
    const clean = experiment.methods[0]!.clean['recall@1']!;
    assert.ok(html.includes(`<td>${(100 * clean.mean).toFixed(2)} ± ${(100 * clean.std!).toFixed(2)}</td>`), "baseline's clean Recall@1, mean ± std");
    for (const p of summaryParagraphs(experiment)) assert.ok(html.includes(`<p>${escapeHtml(p)}</p>`), p);
    assert.equal(html.match(/class="gallery paired"/g)?.length, 2);
  });

  it('reads in a browser: 5 charts with marks, 2 methods x 12 queries x 2 rows x 9 images, no errors', { skip }, async () => {
    const page = await inspect(join(dir, 'report.html'), 'experiment-report.png');
    assertReadable(page, 5, 2 * 12 * 2 * 9, 56);
    assert.equal(await isBlankScreenshot(page.screenshot), false);
  });
});

describe('mdprop report', () => {
  it('rebuilds the report of an experiment and of a run and prints its path', async () => {
    for (const target of [dir, runDir]) {
      rmSync(join(target, 'report.html'), { force: true });
      const r = await runMdprop(['report', target]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${join(target, 'report.html')}\n`);
      assert.ok(existsSync(join(target, 'report.html')));
    }
  });

  it('exits 2 naming a folder that is neither, or no folder', async () => {
    const neither = mkdtempSync(join(tmpdir(), 'mdprop-neither-'));
    try {
      for (const target of [neither, join(neither, 'missing')]) {
        const r = await runMdprop(['report', target]);
        assert.equal(r.code, 2);
        assert.ok(r.stderr.includes(target), r.stderr);
      }
    } finally {
      rmSync(neither, { recursive: true, force: true });
    }
  });
});
