// `nx release version` actions for this npm workspace: read and write `version` and the @proj/*
// dependency ranges in each package.json, then refresh package-lock.json.
//
// Why here: nx's default implementation lives in the @nx/js plugin, which this workspace does not
// install (nx is used only as a task runner). This is the subset of @nx/js's behaviour we need:
// versions on disk, no registry look-ups, npm as the package manager.
'use strict';
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const { VersionActions } = require('nx/release');

const DEPENDENCY_COLLECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

function readManifest(tree, path) {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new Error(`version-actions: ${path} does not exist`);
  return JSON.parse(text);
}

/**
 * Sets `"key": "from"` to `"key": "to"` in the manifest text, keeping its formatting (some of our
 * package.json files write small objects on one line; a JSON.stringify round trip would reflow them).
 */
function replaceField(text, key, from, to) {
  const escape = (s) => JSON.stringify(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(${escape(key)}\\s*:\\s*)${escape(from)}`, 'g');
  return text.replace(pattern, (_, head) => `${head}${JSON.stringify(to)}`);
}

/** The npm name of a project in the graph (nx names JS projects after their package by default). */
function packageName(projectGraph, projectName) {
  return projectGraph.nodes[projectName]?.data?.metadata?.js?.packageName ?? projectName;
}

class NpmWorkspaceVersionActions extends VersionActions {
  validManifestFilenames = ['package.json'];

  async readCurrentVersionFromSourceManifest(tree) {
    const manifestPath = join(this.projectGraphNode.data.root, 'package.json');
    const { version } = readManifest(tree, manifestPath);
    return version ? { currentVersion: version, manifestPath } : null;
  }

  async readCurrentVersionFromRegistry() {
    throw new Error(
      `version-actions: currentVersionResolver 'registry' is not supported for ${this.projectGraphNode.name}; use 'disk' (see docs/releasing.md)`,
    );
  }

  async readCurrentVersionOfDependency(tree, projectGraph, dependencyProjectName) {
    const manifest = readManifest(tree, join(this.projectGraphNode.data.root, 'package.json'));
    const name = packageName(projectGraph, dependencyProjectName);
    for (const collection of DEPENDENCY_COLLECTIONS) {
      const range = manifest[collection]?.[name];
      if (range !== undefined) return { currentVersion: range, dependencyCollection: collection };
    }
    return { currentVersion: null, dependencyCollection: null };
  }

  async updateProjectVersion(tree, newVersion) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const { version } = readManifest(tree, manifestPath);
      // Only the top-level field: nested objects of a package.json have no "version" key.
      tree.write(manifestPath, replaceField(tree.read(manifestPath, 'utf-8'), 'version', version, newVersion));
      logs.push(`✍️  New version ${newVersion} written to manifest: ${manifestPath}`);
    }
    return logs;
  }

  async updateProjectDependencies(tree, projectGraph, dependenciesToUpdate) {
    const logs = [];
    for (const { manifestPath, preserveLocalDependencyProtocols } of this.manifestsToUpdate) {
      const manifest = readManifest(tree, manifestPath);
      let text = tree.read(manifestPath, 'utf-8');
      let updated = 0;
      for (const [projectName, range] of Object.entries(dependenciesToUpdate)) {
        const name = packageName(projectGraph, projectName);
        for (const collection of DEPENDENCY_COLLECTIONS) {
          const current = manifest[collection]?.[name];
          if (current === undefined) continue;
          if (preserveLocalDependencyProtocols && /^(workspace|file|link):/.test(current)) continue;
          text = replaceField(text, name, current, range);
          updated++;
        }
      }
      if (updated > 0) {
        tree.write(manifestPath, text);
        logs.push(`✍️  Updated ${updated} ${updated === 1 ? 'dependency' : 'dependencies'} in manifest: ${manifestPath}`);
      }
    }
    return logs;
  }
}

/** Once every manifest is written: bring package-lock.json in line, or `npm ci` would refuse it. */
async function afterAllProjectsVersioned(cwd, { dryRun }) {
  if (dryRun) return { changedFiles: [], deletedFiles: [] };
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd, stdio: 'inherit' });
  return { changedFiles: ['package-lock.json'], deletedFiles: [] };
}

module.exports = NpmWorkspaceVersionActions;
module.exports.default = NpmWorkspaceVersionActions;
module.exports.afterAllProjectsVersioned = afterAllProjectsVersioned;
