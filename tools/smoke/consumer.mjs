// Consumer smoke test, ESM: loads the packed packages with `import`, through their public names
// only (no workspace paths), and runs the shared checks. Run by tools/smoke/run.sh in a fresh project;
// `node consumer.mjs <dir>` also leaves the tiny saved Gap-ReLM in <dir> for the gap-relm binary.
import * as core from '@proj/core';
import * as dataSynth from '@proj/data-synth';
import * as align from '@proj/align';
import * as metrics from '@proj/metrics';
import * as models from '@proj/models';
import checks from './checks.cjs';

await checks.runChecks({ core, dataSynth, align, metrics, models }, 'esm', process.argv[2]);
