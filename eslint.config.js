import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', 'tools/reference/.venv/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Libraries take a seeded RNG; Math.random would break reproducibility.
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Pass a seeded Rng instead.' }],
    },
  },
);
