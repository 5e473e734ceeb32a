export {
  flotillaServerArgv,
  Spawner,
  type ServerInfo,
  type ServerLaunch,
  type ServerStatus,
  type ServerSummary,
  type SpawnerOptions,
  type StartStep,
} from './spawner.js';
export { serverLogPath } from './server-process.js';
export {
  dynamicIsolation,
  isolationForSite,
  sharedIsolation,
  systemIsolation,
  type Isolation,
  type IsolationMode,
} from './isolation.js';
export { isAlive, signalGroup } from './server-process.js';
