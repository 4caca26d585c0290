// Test helper (not part of the build): runs prepareLmData in a child process and SIGKILLs itself
// at a chosen point, so prepare-data.test.ts can check that a restart resumes exactly.
// argv[2]: JSON { options, kill?: { at: 'afterAppend' | 'afterCheckpoint' | 'afterFinalizeStep', value: number | string } }
import { prepareLmData, type PrepareLmDataOptions } from './prepare-data';

const { options, kill } = JSON.parse(process.argv[2]) as {
  options: PrepareLmDataOptions;
  kill?: { at: 'afterAppend' | 'afterCheckpoint' | 'afterFinalizeStep'; value: number | string };
};
const die = (value: number | string) => {
  if (kill && value === kill.value) process.kill(process.pid, 'SIGKILL');
};
await prepareLmData({
  ...options,
  progress: false,
  hooks: kill ? { [kill.at]: die } : undefined,
});
