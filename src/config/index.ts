export { ConfigError, formatConfigIssue, type ConfigIssue } from './errors.js';
export { assertValidUserName, InvalidNameError, isValidUserName, isValidWorkflowName, NAME_RULE } from './names.js';
export { formatScope, KNOWN_SCOPES, parseScope, SCOPE_DEFINITIONS, ScopeError, type ParsedScope, type Scope, type ScopeFilterKind } from './scopes.js';
export {
  DEFAULT_BIND_URL,
  DEFAULT_DYNAMIC_UIDS,
  directiveProblem,
  LOCAL_PLATFORM,
  loadSiteConfig,
  parseSiteConfig,
  slurmIsolationProblem,
  slurmPlatformNames,
  type IsolationMode,
  type PlatformConfig,
  type SlurmPlatformConfig,
  type LoginLimit,
  type LoginLimits,
  type RoleConfig,
  type ServiceConfig,
  type SiteConfig,
  type UidRange,
} from './site.js';
export { chooseIsolation, needsRootMessage, SHARED_MODE_WARNING, type IsolationChoice } from './isolation.js';
export {
  loadOwnerAuthorization,
  loadOwnerSharing,
  ownerConfigPath,
  ownerDir,
  parseOwnerConfig,
  saveOwnerAuthorization,
  workflowsDir,
  type OwnerSharing,
} from './owner.js';
export { checkConfiguration, type CheckReport } from './check.js';
