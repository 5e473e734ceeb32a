import * as z from 'zod';
import {
  AuthzConfigError,
  parseSiteAuthorization,
  parseUserAuthorization,
  parseWorkflowAuthorization,
  type SiteAuthorization,
  type UserAuthorization,
  type WorkflowAuthorization,
} from '../authz/index.js';
import { isValidWorkflowName, NAME_RULE } from './names.js';

/**
 * The authorization values are validated by authz/ (the one place that knows the permission
 * names); their issues are folded into the surrounding configuration's issues, at their path.
 */
function folded<T>(parse: (raw: unknown, where: string) => T, where: string) {
  return z.unknown().transform((raw, ctx): T => {
    try {
      return parse(raw, where);
    } catch (err) {
      if (err instanceof AuthzConfigError) {
        for (const issue of err.issues) {
          // authz may or may not start its paths with the name it was given; ours already has it.
          const path = issue.path[0] === where ? issue.path.slice(1) : issue.path;
          ctx.addIssue({ code: 'custom', path, message: issue.message });
        }
      } else {
        // Anything else is a fault in validation itself: refuse the value rather than trust it.
        ctx.addIssue({ code: 'custom', message: `could not be validated: ${String(err)}` });
      }
      return z.NEVER;
    }
  });
}

export const siteAuthorizationSchema = folded<SiteAuthorization>(parseSiteAuthorization, 'site_authorization').optional();
export const userAuthorizationSchema = folded<UserAuthorization>(parseUserAuthorization, 'user_authorization').optional();

/** Workflow names follow the project's naming rule; authz knows nothing of it, so it is given here. */
const parseWorkflowSections = (raw: unknown, where: string): WorkflowAuthorization =>
  parseWorkflowAuthorization(raw, { test: isValidWorkflowName, text: NAME_RULE }, where);

export const workflowAuthorizationSchema = folded<WorkflowAuthorization>(parseWorkflowSections, 'workflow_authorization').optional();
