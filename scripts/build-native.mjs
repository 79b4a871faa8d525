// Builds the native addon with node-gyp at `npm install` time, after checking that libtorch is there.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { torchLocation } from './torch-paths.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// An addon already built against the same libtorch and Node (another checkout's build/Release):
// copying it saves the compile, e.g. when installing mdprop into many projects on one machine.
if (process.env.MDPROP_PREBUILT_ADDON) {
  const target = join(root, 'build/Release/mdprop.node');
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(process.env.MDPROP_PREBUILT_ADDON, target);
  process.exit(0);
}
const loc = torchLocation();
if (!existsSync(loc.header)) {
  const where = process.env.LIBTORCH ? `under LIBTORCH=${process.env.LIBTORCH} (no include/ATen/ATen.h)` : 'in /usr/include';
  console.error(
    `mdprop: libtorch was not found ${where}; install it with \`sudo apt-get install -y libtorch-dev\` ` +
      'or set LIBTORCH to a libtorch folder that holds include/ and lib/.',
  );
  process.exit(1);
}

let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = null; // fall back to the node-gyp that ships inside npm
}
const args = gyp ? [gyp, 'rebuild'] : [join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'), 'rebuild'];
if (process.env.MDPROP_NODEDIR) args.push(`--nodedir=${process.env.MDPROP_NODEDIR}`);
const jobs = process.env.JOBS ?? 'max';
const result = spawnSync(process.execPath, [...args, `--jobs=${jobs}`], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
