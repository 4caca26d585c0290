import { libraryConfig } from '../../tsup.shared';

export default libraryConfig(['src/synth-worker.ts']);
