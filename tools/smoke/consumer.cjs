// Consumer smoke test, CommonJS: the same checks as consumer.mjs, with the packages loaded through
// require(), because the CJS builds (dist/*.cjs) resolve their worker scripts and wasm binaries by
// their own paths.
'use strict';
const { runChecks } = require('./checks.cjs');

const pkgs = {
  core: require('@proj/core'),
  dataSynth: require('@proj/data-synth'),
  align: require('@proj/align'),
  metrics: require('@proj/metrics'),
  models: require('@proj/models'),
};
runChecks(pkgs, 'cjs').catch((err) => {
  console.error(err);
  process.exit(1);
});
