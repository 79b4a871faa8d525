// The data layer's public API: datasets and their splits, samplers, transforms, the loader.
// It depends on no tensor code; batches are plain typed arrays.
export type { Batch, Dataset, DataSplit, ImageSource, SplitName } from './types.js';
export { DataError, ImageDecodeError } from './errors.js';
export { openDataset, isDatasetName, acceptsRoot } from './datasets/registry.js';
export { FASHION_MNIST_DEFAULT_ROOT, FASHION_MNIST_FILES } from './datasets/fashion-mnist.js';
export { parseIdx, readIdxFile, type IdxArray } from './idx.js';
export { DATASET_NAMES, DATASETS, IMAGENET, SMALL_GREY, type DatasetDescriptor, type DatasetName, type ImageProtocol, type OpenDatasetOptions } from './datasets/descriptors.js';
export type { FolderOptions } from './datasets/folder.js';
export { limitEvaluation, limitSplit, withoutImages } from './limit.js';
export { SubsetSplit } from './split.js';
export { findImageFiles, imageFolderSplit } from './image-folder.js';
export { readImageFile, checkImageBytes, imagePipeline, sniffImageFormat, IMAGE_FORMATS, MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS, type CheckedImage, type ImageFormat } from './image-io.js';
export { isDirectoryNow, isFileNow } from './files.js';
export { Random, type RandomState, type StreamKey } from './random.js';
export { BatchSampler, hashLabels, type SampledBatch, type SamplerKind, type SamplerPosition, type SamplerState } from './samplers/sampler.js';
export { ClassBalancedSampler, type ClassBalancedOptions } from './samplers/class-balanced-sampler.js';
export { ClassRandomSampler, type ClassRandomOptions } from './samplers/class-random-sampler.js';
export { RandomSampler, SequentialSampler, type RandomSamplerOptions } from './samplers/random-sampler.js';
export { restoreSampler } from './samplers/sampler-state.js';
export {
  trainTransform,
  testTransform,
  outputShape,
  planTransform,
  transformImage,
  transformInto,
  decodeImageFile,
  IMAGENET_MEAN,
  IMAGENET_STD,
  GREY_MEAN,
  GREY_STD,
  inputScaling,
  NO_AUGMENTATION,
  type Transform,
  type TrainTransform,
  type TestTransform,
  type TrainTransformOptions,
  type TestTransformOptions,
  type DecodeOptions,
} from './transforms.js';
export { DataLoader, evaluationLoader, turnOfEventLoop, type LoaderOptions } from './loader.js';
export { checkDataset, fingerprint, imageCount, unreadableImages, type CheckReport, type CheckOptions, type FileFingerprint, type SplitCount, type UnreadableImage } from './check.js';
export { readMat5, matNumber, matString, MatFormatError, type MatValue } from './mat5.js';
