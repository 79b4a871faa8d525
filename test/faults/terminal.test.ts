// File names reach the terminal in errors and lists; their control characters must not.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { printable } from '../../src/cli/io.js';
import { runMdprop } from '../helpers/cli.js';
import { tempDir } from '../train/helpers.js';

describe('terminal output', () => {
  it('shows control characters of file names escaped', async () => {
    const weights = join(tempDir('faults-tty'), 'a\u001b]0;owned\u0007\u009b2J.safetensors');
    const r = await runMdprop(['embed', '--weights', weights, '--images', tempDir('faults-tty-img'), '--out', join(tempDir('faults-tty-out'), 'e.safetensors')]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    assert.match(r.stderr, /a\\x1b\]0;owned\\x07\\x9b2J\.safetensors/);
    assert.equal(printable('x\ny\tz\u0000', true), 'x\\x0ay\\x09z\\x00');
    assert.equal(printable('two\nlines'), 'two\nlines');
  });
});
