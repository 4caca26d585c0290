import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    // tfjs' "Hi, looks like you are running TensorFlow.js in Node.js" banner, once per test file
    // that touches a tfjs backend: the tests pick their backend on purpose.
    onConsoleLog: (log) => !log.includes('looks like you are running TensorFlow.js in Node.js'),
  },
});
