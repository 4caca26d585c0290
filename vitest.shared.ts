// Tests import sibling packages from source, so `npm test` needs no build first.
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export const sourceAliases: Record<string, string> = Object.fromEntries(
  readdirSync(join(root, 'packages'))
    .filter((name) => existsSync(join(root, 'packages', name, 'src/index.ts')))
    .map((name) => [`@proj/${name}`, join(root, 'packages', name, 'src/index.ts')]),
);

/**
 * Research data beside the repo (`../shared/data`): only benchmarks and evaluation tests read it,
 * and they skip with a message when it is absent, as on a user's clone.
 */
export const sharedDataDir = process.env.PROJ_SHARED_DATA ?? join(root, '..', 'shared', 'data');

export function projectConfig(name: string, overrides: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { alias: sourceAliases },
    test: {
      name,
      env: { PROJ_SHARED_DATA: sharedDataDir },
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 60_000,
      ...overrides,
    },
  });
}
