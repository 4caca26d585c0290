import { libraryConfig } from '../../tsup.shared';

// The prepare worker is built beside dist/index.js, where resolveWorkerScript looks for it.
export default libraryConfig([], {
  entry: { index: 'src/index.ts', 'lm-tokenize-worker': 'src/causal-lm/lm-tokenize-worker.ts' },
});
