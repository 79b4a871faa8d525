// The report layer reads the files runs and experiments leave and draws them: comparison of runs,
// statistics over seeds and queries, charts rendered to SVG, embedding maps and retrieval galleries
// (from views.json), and the self-contained HTML page that holds them. It trains and evaluates nothing.
export { compareRuns, formatComparison, loadRun } from './compare.js';
export type { RunResults } from './compare.js';

export { bootstrapDifference, excludesZero, mean, meanInterval, pairedDifference, quantileSorted, sampleStd, studentTCdf, studentTQuantile } from './stats.js';
export type { BootstrapInterval, BootstrapOptions, Interval, MeanInterval, PairedDifference } from './stats.js';

export { CHART_CONFIG, renderSvg } from './render.js';
export type { RenderOptions, SvgMarkup, TopLevelSpec } from './render.js';
export { differenceChart, lineBandChart, robustnessChart, scatterChart, summarizeSeries } from './charts.js';
export type {
  BandRow,
  DifferenceChartOptions,
  DifferenceRow,
  LineBandOptions,
  RobustnessChartOptions,
  RobustnessResult,
  ScatterChartOptions,
  ScatterPanel,
  ScatterPoint,
  SeedSeries,
} from './charts.js';
export { summarizeSpread } from './spread.js';
export type { Spread, SpreadSummary } from './spread.js';


export { differenceCell, escapeHtml, formatInterval, pngDataUri, renderReportPage, trustedHtml } from './html.js';
export type { Block, Cell, CellMark, HtmlFragment, ReportPage, Section, SettingValue } from './html.js';
export { GALLERY_CSS, imageDataUri, imageToPng, renderGallery } from './gallery.js';
export type { GalleryNeighbour, GalleryOptions, GalleryRow, PixelImage, ThumbnailOptions } from './gallery.js';

export { buildRunReport, writeRunReport, WRITTEN_BY } from './run-report.js';
export { buildExperimentReport, writeExperimentReport } from './experiment-report.js';
export { reportKind, writeReport } from './report-dir.js';
export type { ReportKind } from './report-dir.js';
export { differenceRows, resultsTable, summaryParagraphs } from './experiment-results.js';
export { flatSettings, formatMetric, metricLabel, orderMetrics, robustnessPoints, SELECTION_TEXT, summarySelection, trainingCurves } from './report-data.js';
export type { AttackValues, ModelSelection, SummarySelection, TrainingCurves } from './report-data.js';
export { openViewImages, THUMBNAIL_SIZE } from './view-images.js';
export type { ImageSettings, ViewImages } from './view-images.js';
export { attackText, galleryBlock, mapPanel } from './views-blocks.js';
export type { GalleryViewOptions } from './views-blocks.js';
