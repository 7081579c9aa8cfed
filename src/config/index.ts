export { MAX_CONFIG_BYTES, defaultConfigFile, readConfigFile } from './configFile';
export type { ReadConfigFileOptions } from './configFile';
export { overlayConfig, withConfigFile } from './overlayConfig';
export { CONFIG_GROUPS } from './configTypes';
export type {
  ConfigFileSettings,
  ConfigGroup,
  ConfigLedger,
  ConfigProblem,
  ConfigValidation,
  LoadedConfig,
} from './configTypes';
