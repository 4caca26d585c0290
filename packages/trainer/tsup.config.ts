import { libraryConfig } from '../../tsup.shared';

export default libraryConfig([], {
  // tfjs-core ships its gradient registrations only as extensionless ES modules, which Node cannot
  // load from node_modules; bundle them. They share the engine and registries with the installed
  // tfjs-core through tfjs's global namespace, so there is still one engine.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients$/],
});
