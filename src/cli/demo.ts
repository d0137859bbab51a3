import type { Command } from 'commander';
import { LAB_STATE_DIR } from './lab.js';
import { formatTable, printJson, progress, progressDone } from './output.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('bring up the default lab, check the documented pod-traffic cases with real packets, take it down (root)')
    .option('--sgp', 'security groups for pods instead: bring up examples/lab-sgp.yaml and check the strict/standard × destination × EXTERNALSNAT matrix, scope Pod vs Node and a branch pod in a public subnet')
    .option('--keep', 'leave the lab up afterwards to explore it')
    .option('--json', 'print the table as a JSON array of {case, expected, observed, pass}')
    .option('--state-dir <dir>', 'where the lab keeps its records', LAB_STATE_DIR)
    .action(async (opts: { sgp?: boolean; keep?: boolean; json?: boolean; stateDir: string }) => {
      const { runDemo, runSgpDemo } = await import('../lab/index.js');
      const run = opts.sgp ? runSgpDemo : runDemo;
      const rows = await run({ keep: opts.keep, stateDir: opts.stateDir, progress: (m) => progress(m, opts.json) });
      progressDone(opts.json);
      const passed = rows.filter((r) => r.pass).length;
      if (opts.json) printJson(rows);
      else {
        process.stdout.write(formatTable(['case', 'expected', 'observed', 'pass'], rows.map((r) => [r.case, r.expected, r.observed, r.pass ? 'yes' : 'NO'])));
        process.stdout.write(`\n${passed}/${rows.length} checks pass\n`);
        if (opts.keep) process.stdout.write(`the lab is still up: podnet lab status · podnet lab probe FROM TO · take it down with: podnet lab down${opts.stateDir === LAB_STATE_DIR ? '' : ` --state-dir ${opts.stateDir}`}\n`);
      }
      if (passed !== rows.length) process.exitCode = 1;
    });
}
