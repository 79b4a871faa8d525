// Decompression bombs: a small file whose header promises a huge image. Both the training reader
// and `data check` refuse it from the header, naming the file, before decoding a pixel.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeFully, MAX_IMAGE_PIXELS, openImage } from '../../src/data/image-io.js';
import { tempDir } from '../train/helpers.js';

describe('bomb images', () => {
  it('are refused from their header by the reader and by data check', async () => {
    const path = join(tempDir('faults-bomb'), 'bomb.png');
    // 9000x9000 of one colour: about 100 KB as PNG, 243 MB decoded.
    await sharp({ create: { width: 9000, height: 9000, channels: 3, background: '#808080' } }).png({ compressionLevel: 1 }).toFile(path);
    const source = { kind: 'file', path, name: 'bomb.png' } as const;
    const expected = new RegExp(`bomb\\.png.*9000x9000 pixels is more than the ${MAX_IMAGE_PIXELS}`);
    await assert.rejects(decodeFully(source), expected);
    await assert.rejects(openImage(source), expected);
  });
});
