// Gallery indexes and search: building (resumable), extending, opening and searching an index
// of a gallery's embeddings; exact search on libtorch, approximate search on an HNSW graph.
export { modelTransform, type ModelInputOptions } from './model-input.js';
export { Embedder, inputShapeOf, stackInputs } from './embedder.js';
export { IndexError, QueryImageError } from './errors.js';
export { hashFile, resolveModelFile } from './model-ref.js';
export { ExactSearch, EXACT_CHUNK_ROWS, type RankedRows } from './exact.js';
export { HnswGraph, HNSW_DEFAULTS, type HnswParameters } from './ann.js';
export { decodeQueryImage, DEFAULT_MAX_QUERY_PIXELS, QUERY_IMAGE_FORMATS } from './query-image.js';
export { addToIndex, buildIndex, IndexInterrupted, type AddImagesOptions, type AnnKind, type BuildIndexOptions, type EmbedProgress, type GalleryInput } from './build.js';
export { GalleryIndex, MAX_K, openIndex, type IndexInfo, type Neighbour, type OpenIndexOptions, type Queries, type SearchOptions } from './gallery-index.js';
export { openGallerySource, type GallerySource } from './gallery-source.js';
export { MDPROP_VERSION } from '../formats/index.js';
