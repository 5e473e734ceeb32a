export {
  ALL_OPERATIONS,
  CONTROL_OPERATIONS,
  GROUP_OPERATIONS,
  OPERATIONS,
  READ_OPERATIONS,
  graphqlName,
  graphqlNames,
  isOperation,
  operationFromGraphqlName,
  type Operation,
  type PermissionGroup,
} from './operations.js';
export { resolvePermission, type PermissionTerm } from './spelling.js';
export { AuthzConfigError, type AuthzIssue } from './errors.js';
export {
  SiteAuthorization,
  UserAuthorization,
  WorkflowAuthorization,
  parseSiteAuthorization,
  parseUserAuthorization,
  parseWorkflowAuthorization,
  type WorkflowAuthorizationJson,
  type WorkflowNameRule,
  type PermissionList,
  type SiteAuthorizationJson,
  type SiteEntry,
  type UserAuthorizationJson,
} from './config.js';
export { decide, type AuthzRequest, type WorkflowScope } from './decide.js';
export { explainDecision, type ExplainedEntry, type GrantSection, type Explanation, type PermissionSetExplanation } from './explain.js';
export { Authorizer, type AuthorizerOptions } from './authorizer.js';
export { formatExplanation } from './format.js';
