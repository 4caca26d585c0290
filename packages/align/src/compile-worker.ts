// Worker thread for `compile`: labels batches of read items. Built as its own tsup entry so it
// sits beside index.js in dist/ (see compile-worker-script.ts).
import { serveWorkerTasks } from '@proj/core';
import { labelBatch, type LabelBatchOptions, type LabelBatchResult } from './compile/label-batch';
import type { LabelItem } from './compile/records';

serveWorkerTasks<LabelItem[], LabelBatchResult, LabelBatchOptions>((items, options) => labelBatch(items, options));
