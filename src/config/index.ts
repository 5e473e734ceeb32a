export { ConfigError, formatConfigIssue, type ConfigIssue } from './errors.js';
export { assertValidUserName, InvalidNameError, isValidUserName, isValidWorkflowName, NAME_RULE } from './names.js';
export { KNOWN_SCOPES, parseScope, ScopeError, type ParsedScope, type Scope, type ScopeFilterKind } from './scopes.js';
export { DEFAULT_BIND_URL, loadSiteConfig, parseSiteConfig, type LoginLimit, type LoginLimits, type RoleConfig, type SiteConfig } from './site.js';
export {
  loadOwnerAuthorization,
  ownerConfigPath,
  ownerDir,
  parseOwnerConfig,
  saveOwnerAuthorization,
  workflowsDir,
} from './owner.js';
export { checkConfiguration, type CheckReport } from './check.js';
