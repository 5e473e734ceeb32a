export { ConfigError, formatConfigIssue, type ConfigIssue } from './errors.js';
export { assertValidUserName, InvalidNameError, isValidUserName, isValidWorkflowName, NAME_RULE } from './names.js';
export { KNOWN_SCOPES, parseScope, ScopeError, type ParsedScope, type Scope, type ScopeFilterKind } from './scopes.js';
export {
  DEFAULT_BIND_URL,
  DEFAULT_DYNAMIC_UIDS,
  loadSiteConfig,
  parseSiteConfig,
  type IsolationMode,
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
  ownerConfigPath,
  ownerDir,
  parseOwnerConfig,
  saveOwnerAuthorization,
  workflowsDir,
} from './owner.js';
export { checkConfiguration, type CheckReport } from './check.js';
