// Image files from elsewhere: each is read by mdprop itself (opened without blocking, size-capped)
// and decoded from that buffer only when its first bytes and sharp both say it is one of
// IMAGE_FORMATS. An SVG named .png whose <image> points at a FIFO beside it (once: librsvg opened
// the FIFO and `data check` hung) is listed as unreadable; so are a FIFO named .png, a file above
// MAX_IMAGE_FILE_BYTES, and bytes that only start like a JPEG. Every allowed format decodes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeFully, IMAGE_FORMATS, MAX_IMAGE_FILE_BYTES, openImage } from '../../src/data/image-io.js';
import { CLI_MAIN } from '../helpers/cli.js';
import { tempDir } from '../train/helpers.js';

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64"><image href="pipe.png" xlink:href="pipe.png" width="64" height="64"/></svg>\n';

async function writePng(path: string): Promise<void> {
  await sharp({ create: { width: 8, height: 6, channels: 3, background: '#336699' } }).png().toFile(path);
}

describe('untrusted images', () => {
  it('data check lists an SVG named .png beside a FIFO, a FIFO, an oversized file and a fake JPEG as unreadable, promptly', async () => {
    const root = tempDir('faults-images');
    for (const cls of ['a', 'b']) {
      mkdirSync(join(root, cls));
      for (const k of [1, 2, 3]) await writePng(join(root, cls, `${cls}${k}.png`));
    }
    writeFileSync(join(root, 'a', 'a1.png'), SVG);
    assert.equal(spawnSync('mkfifo', [join(root, 'a', 'pipe.png')]).status, 0);
    unlinkSync(join(root, 'b', 'b1.png'));
    assert.equal(spawnSync('mkfifo', [join(root, 'b', 'b1.png')]).status, 0);
    truncateSync(join(root, 'b', 'b2.png'), MAX_IMAGE_FILE_BYTES + 1); // sparse: costs no disk
    writeFileSync(join(root, 'a', 'a2.png'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from(SVG)]));
    const r = spawnSync(process.execPath, [CLI_MAIN, 'data', 'check', '--dataset', 'folder', '--root', root, '--json'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, MDPROP_QUIET: '1' } });
    assert.equal(r.signal, null, `data check did not finish: ${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { unreadable: string[] };
    assert.deepEqual([...report.unreadable].sort(), ['a/a1.png', 'a/a2.png', 'b/b2.png'].sort(), r.stdout);

    // The reasons, from the reader itself (the FIFO named b1.png is no regular file, so no dataset lists it).
    const reason = async (name: string) => decodeFully({ kind: 'file', path: join(root, name), name }).then(() => 'decoded', (err: Error) => err.message);
    assert.match(await reason('a/a1.png'), /cannot decode image a\/a1\.png: not a jpeg, png, webp, gif, tiff, avif image \(by its first bytes\); other formats, SVG among them, are not read/);
    assert.match(await reason('a/a2.png'), /cannot decode image a\/a2\.png: /);
    assert.match(await reason('b/b1.png'), /not a regular file \(a FIFO, a device or a folder\)/);
    assert.match(await reason('b/b2.png'), new RegExp(`${MAX_IMAGE_FILE_BYTES + 1} bytes is more than the ${MAX_IMAGE_FILE_BYTES} an image file may have`));
    await assert.rejects(openImage({ kind: 'file', path: join(root, 'a', 'a1.png'), name: 'a1.png' }), /not a jpeg, png/);
  });

  it('decodes every allowed format, whatever the file is named', async () => {
    const dir = tempDir('faults-formats');
    const base = sharp({ create: { width: 10, height: 7, channels: 3, background: '#808040' } });
    for (const format of IMAGE_FORMATS) {
      const path = join(dir, `image-${format}.png`);
      await base.clone().toFormat(format === 'avif' ? 'heif' : format, format === 'avif' ? { compression: 'av1' } : {}).toFile(path);
      assert.deepEqual(await decodeFully({ kind: 'file', path, name: format }), { width: 10, height: 7 }, format);
    }
  });
});
