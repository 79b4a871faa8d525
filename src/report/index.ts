// The report layer reads the files runs and experiments leave and draws them: comparison of runs,
// statistics over seeds and queries, charts rendered to SVG, embedding maps and retrieval galleries
// (from views.json), and the self-contained HTML page that holds them. It trains and evaluates nothing.
export { compareRuns, formatComparison, loadRun } from './compare.js';
export type { RunResults } from './compare.js';

export { bootstrapDifference, excludesZero, mean, meanInterval, pairedDifference, quantileSorted, sampleStd, studentTCdf, studentTQuantile } from './statistics/stats.js';
export type { BootstrapInterval, BootstrapOptions, Interval, MeanInterval, PairedDifference } from './statistics/stats.js';

export { CHART_CONFIG, renderSvg } from './charts/render.js';
export type { RenderOptions, SvgMarkup, TopLevelSpec } from './charts/render.js';
export { differenceChart, lineBandChart, robustnessChart, scatterChart, summarizeSeries } from './charts/charts.js';
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
} from './charts/charts.js';
export { summarizeSpread } from './statistics/spread.js';
export type { Spread, SpreadSummary } from './statistics/spread.js';


export { differenceCell, escapeHtml, formatInterval, pngDataUri, renderReportPage, trustedHtml } from './pages/html.js';
export type { Block, Cell, CellMark, HtmlFragment, ReportPage, Section, SettingValue } from './pages/html.js';
export { GALLERY_CSS, imageDataUri, imageToPng, renderGallery } from './pages/gallery.js';
export type { GalleryNeighbour, GalleryOptions, GalleryRow, PixelImage, ThumbnailOptions } from './pages/gallery.js';

export { buildRunReport, writeRunReport, WRITTEN_BY } from './pages/run-report.js';
export { buildExperimentReport, writeExperimentReport } from './pages/experiment-report.js';
export { reportKind, writeReport } from './pages/report-dir.js';
export type { ReportKind } from './pages/report-dir.js';
export { differenceRows, resultsTable, summaryParagraphs } from './pages/experiment-results.js';
export { flatSettings, formatMetric, metricLabel, orderMetrics, robustnessPoints, SELECTION_TEXT, summarySelection, trainingCurves } from './pages/report-data.js';
export type { AttackValues, ModelSelection, SummarySelection, TrainingCurves } from './pages/report-data.js';
export { openViewImages, THUMBNAIL_SIZE } from './pages/view-images.js';
export type { ImageSettings, ViewImages } from './pages/view-images.js';
export { attackText, galleryBlock, mapPanel } from './pages/views-blocks.js';
export type { GalleryViewOptions } from './pages/views-blocks.js';
