// The plain data types shared by datasets, samplers, transforms and the loader. Nothing here
// refers to tensors: the trainer turns a Batch into tensors itself.

/** train/test for most datasets; In-Shop evaluates a query set against a gallery. */
export type SplitName = 'train' | 'test' | 'query' | 'gallery';

/** Where the pixels of one image come from. `name` is what messages and reports show. */
export type ImageSource =
  | { readonly kind: 'file'; readonly path: string; readonly name: string }
  | {
      readonly kind: 'pixels';
      /** HWC, 8 bits per channel. */
      readonly data: Uint8Array;
      readonly width: number;
      readonly height: number;
      readonly channels: number;
      readonly name: string;
    };

/** One split of a dataset: a list of images with integer class labels. */
export interface DataSplit {
  /** The dataset's name (a key of the table in datasets/descriptors.ts). */
  readonly dataset: string;
  readonly name: SplitName;
  /** The root folder the user named; undefined for embedded datasets. */
  readonly root: string | undefined;
  readonly size: number;
  /** Class label of each image, an index into `classNames`. */
  readonly labels: Int32Array;
  /** Names of the label space. In-Shop's query and gallery share one, so some may be absent from a split. */
  readonly classNames: readonly string[];
  /** Number of distinct labels present in this split. */
  readonly numClasses: number;
  image(index: number): ImageSource;
  /** Path relative to the root (or an id for embedded images), for messages and reports. */
  describe(index: number): string;
}

/** An opened dataset with the splits of its evaluation protocol. */
export interface Dataset {
  /** A key of the table in datasets/descriptors.ts. */
  readonly name: string;
  readonly root: string | undefined;
  /** In protocol order: train, test; or train, query, gallery (In-Shop). */
  readonly splits: ReadonlyMap<SplitName, DataSplit>;
  readonly train: DataSplit;
  /**
   * What retrieval is evaluated on. `sameSet`: every image of `query` is a query against all the
   * others of the same set (then gallery === query); otherwise queries search a separate gallery.
   */
  readonly evaluation: { readonly query: DataSplit; readonly gallery: DataSplit; readonly sameSet: boolean };
}

/** A decoded, augmented, normalized batch, ready to become tensors. */
export interface Batch {
  /** NCHW float32, normalized. */
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
  /** Index of each image in its split. */
  readonly indices: Int32Array;
  /** Where this batch sits in the sampler's sequence. */
  readonly epoch: number;
  readonly step: number;
  readonly lastInEpoch: boolean;
}
