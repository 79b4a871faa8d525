// Child process of the hostile-file tests: loads each model file named on the command line and
// prints (`path#branch#arch`, the last two optional) one JSON line with each file's outcome (the
// error, if any) and the peak resident set before and after.
import { loadModelFile } from '../../src/formats/index.js';

const before = process.resourceUsage().maxRSS;
const results = process.argv.slice(2).map((arg) => {
  const [path, branch, arch] = arg.split('#');
  try {
    loadModelFile(path!, { branch: Number(branch ?? 0), arch: arch || undefined }).model.dispose();
    return { path, error: null };
  } catch (err) {
    return { path, error: (err as Error).message };
  }
});
process.stdout.write(`${JSON.stringify({ results, before, after: process.resourceUsage().maxRSS })}\n`);
