import { libraryConfig } from '../../tsup.shared';

export default libraryConfig(['src/compile-worker.ts']);
