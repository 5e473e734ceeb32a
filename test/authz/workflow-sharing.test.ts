/**
 * AUTHORIZATION.md "Sharing one workflow": each consequence on its own, the validation of
 * workflow_authorization, the explanation's sections, and randomised properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Authorizer,
  AuthzConfigError,
  CONTROL_OPERATIONS,
  decide,
  explainDecision,
  formatExplanation,
  parseSiteAuthorization,
  parseUserAuthorization,
  parseWorkflowAuthorization,
  type AuthzRequest,
  type Operation,
  type WorkflowAuthorization,
} from '../../src/authz/index.js';
import { isValidWorkflowName, NAME_RULE } from '../../src/config/names.js';
import { keyArb, listArb, requestArb, siteArb, uaArb, type RawUa } from './arbitraries.js';
import { withRead } from './fixtures.js';

const NAME_RULE_CHECK = { test: isValidWorkflowName, text: NAME_RULE };
const wa = (raw: unknown): WorkflowAuthorization => parseWorkflowAuthorization(raw, NAME_RULE_CHECK);
const site = (raw: unknown) => parseSiteAuthorization(raw);
const ua = (raw: unknown) => parseUserAuthorization(raw);

function on(
  siteRaw: unknown,
  uaRaw: unknown,
  waRaw: unknown,
  request: AuthzRequest,
  workflow?: string,
): Operation[] {
  const w = waRaw === undefined ? undefined : wa(waRaw);
  const scope = workflow === undefined ? undefined : { name: workflow, section: w?.sectionFor(workflow) };
  return [...decide(site(siteRaw), uaRaw === undefined ? undefined : ua(uaRaw), request, scope)];
}

const req = (user: string, userGroups: string[] = []): AuthzRequest => ({ owner: 'olga', ownerGroups: [], user, userGroups });
const LIMIT_ALL = { '*': { '*': { limit: 'ALL' } } };

describe('the consequences in AUTHORIZATION.md', () => {
  it('"payroll": {"*": ["!READ"]} hides payroll from every access user although * reads everything else; the owner still sees it', () => {
    const uaRaw = { '*': ['READ'] };
    const waRaw = { payroll: { '*': ['!READ'] } };
    for (const user of ['bob', 'carol']) {
      expect(on(LIMIT_ALL, uaRaw, waRaw, req(user), 'payroll')).toEqual([]);
      expect(on(LIMIT_ALL, uaRaw, waRaw, req(user), 'genome-run')).toEqual(['read']);
      expect(on(LIMIT_ALL, uaRaw, waRaw, req(user))).toEqual(['read']);
    }
    expect(on(LIMIT_ALL, uaRaw, waRaw, req('olga'), 'payroll')).toContain('read');
  });

  it('under a limit of READ+CONTROL, a lab section lets a lab member trigger in genome-run and only read the others', () => {
    const limit = { '*': { '*': { default: 'READ', limit: ['READ', 'CONTROL'] } } };
    const waRaw = { 'genome-run': { 'group:lab': ['READ', 'CONTROL'] } };
    const member = req('lena', ['lab']);
    expect(on(limit, undefined, waRaw, member, 'genome-run')).toEqual(withRead(CONTROL_OPERATIONS));
    expect(on(limit, undefined, waRaw, member, 'genome-run')).toContain('trigger');
    expect(on(limit, undefined, waRaw, member, 'other')).toEqual(['read']);
    expect(on(limit, undefined, waRaw, member)).toEqual(['read']);
    // Someone outside lab gets the default in genome-run too.
    expect(on(limit, undefined, waRaw, req('zed'), 'genome-run')).toEqual(['read']);
  });

  it('mentioning bob in one workflow does not mention him for another: there user_authorization or the defaults decide', () => {
    const siteRaw = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
    const waRaw = { a: { bob: ['pause'] } };
    // In "a", bob is mentioned (by the section only), so the defaults no longer apply: pause alone.
    expect(on(siteRaw, undefined, waRaw, req('bob'), 'a')).toEqual(['pause']);
    // In "b", nothing mentions bob: the defaults.
    expect(on(siteRaw, undefined, waRaw, req('bob'), 'b')).toEqual(['read']);
    // With user_authorization mentioning him, that decides for "b".
    expect(on(siteRaw, { bob: ['hold'] }, waRaw, req('bob'), 'b')).toEqual(['hold']);
    expect(on(siteRaw, { bob: ['hold'] }, waRaw, req('bob'), 'a')).toEqual(['hold', 'pause']);
  });

  it('the limit still caps: ALL in a workflow section under a READ limit yields read', () => {
    const readLimit = { '*': { '*': { limit: 'READ' } } };
    expect(on(readLimit, undefined, { w: { bob: ['ALL'] } }, req('bob'), 'w')).toEqual(['read']);
  });

  it('a negation in either place beats any addition for that workflow', () => {
    expect(on(LIMIT_ALL, { bob: ['ALL'] }, { w: { '*': ['!stop'] } }, req('bob'), 'w')).not.toContain('stop');
    expect(on(LIMIT_ALL, { bob: ['!stop'] }, { w: { bob: ['ALL'] } }, req('bob'), 'w')).not.toContain('stop');
    expect(on(LIMIT_ALL, { bob: ['!stop'] }, { w: { bob: ['ALL'] } }, req('bob'), 'w')).toContain('kill');
    expect(on(LIMIT_ALL, { '*': ['READ'] }, { w: { bob: ['!ALL'] } }, req('bob'), 'w')).toEqual([]);
  });

  it('with no site_authorization nobody but the owner gets anything, whatever a workflow section says', () => {
    expect([...decide(undefined, undefined, req('bob'), { name: 'w', section: ua({ bob: ['ALL'] }) })]).toEqual([]);
  });

  it('a workflow not named, or no workflow_authorization at all, is exactly the server-wide rule', () => {
    const uaRaw = { bob: ['read', 'pause'] };
    expect(on(LIMIT_ALL, uaRaw, { x: { bob: ['ALL'] } }, req('bob'), 'y')).toEqual(on(LIMIT_ALL, uaRaw, undefined, req('bob')));
    expect(on(LIMIT_ALL, uaRaw, undefined, req('bob'), 'y')).toEqual(['pause', 'read']);
  });
});

describe('validating workflow_authorization', () => {
  const issuesOf = (raw: unknown): string[] => {
    try {
      wa(raw);
    } catch (err) {
      expect(err).toBeInstanceOf(AuthzConfigError);
      return (err as AuthzConfigError).message.split('\n');
    }
    return [];
  };

  it('accepts the example of AUTHORIZATION.md, and a name that matches no workflow yet', () => {
    const parsed = wa({ 'genome-run': { 'group:lab': ['READ', 'CONTROL'], bob: ['!ALL'] }, payroll: { '*': ['!READ'] } });
    expect(parsed.workflows).toEqual(['genome-run', 'payroll']);
    expect(parsed.toJSON()).toEqual({ 'genome-run': { 'group:lab': ['read', 'CONTROL'], bob: ['!ALL'] }, payroll: { '*': ['!read'] } });
  });

  it('validates each section exactly like user_authorization, with the key path and a did-you-mean', () => {
    expect(issuesOf({ w: { bob: ['stpo'] } })).toEqual(['workflow_authorization › w › bob: unknown permission "stpo"; did you mean "stop"?']);
    expect(issuesOf({ w: { bob: ['!stpo'] } })[0]).toContain('did you mean "!stop"');
    expect(issuesOf({ w: { bob: [] } })[0]).toBe('workflow_authorization › w › bob: empty list: name the permissions, or write ["!ALL"] for none');
    expect(issuesOf({ w: ['READ'] })[0]).toMatch(/^workflow_authorization › w: expected an object/);
    expect(issuesOf({ w: { 'group:': 'READ' } })[0]).toMatch(/group key without a group name/);
    expect(issuesOf('READ')[0]).toMatch(/^workflow_authorization: expected an object mapping workflow names/);
  });

  it('refuses globs and names outside the naming rule, reporting every problem at once', () => {
    const issues = issuesOf({ 'genome-*': { '*': 'READ' }, '../etc': { '*': 'READ' }, ok: { bob: 'stpo' } });
    expect(issues).toHaveLength(3);
    expect(issues[0]).toMatch(/genome-\*.*not globs/);
    expect(issues[1]).toContain('is not a workflow name');
    expect(issues[2]).toMatch(/ok › bob: unknown permission/);
  });
});

describe('explaining a decision on one workflow', () => {
  const siteAuth = site({ '*': { '*': { default: 'READ', limit: ['READ', 'CONTROL'] } } });
  const owner = ua({ '*': ['READ'], bob: ['pause'] });
  const sections = wa({ 'genome-run': { 'group:lab': ['CONTROL', '!stop'] } });
  const bob = req('bob', ['lab']);

  it('names the workflow and the section each grant and negation came from', () => {
    const e = explainDecision(siteAuth, owner, bob, { name: 'genome-run', section: sections.sectionFor('genome-run') });
    expect(e.workflow).toBe('genome-run');
    expect(e.workflowSection).toBe(true);
    expect(e.grants.fromKeys).toEqual([
      { key: '*', section: 'user_authorization', terms: ['read'] },
      { key: 'bob', section: 'user_authorization', terms: ['pause'] },
      { key: 'group:lab', section: 'workflow_authorization.genome-run', terms: ['CONTROL', '!stop'] },
    ]);
    expect(e.userKeys.matchedInWorkflowAuthorization).toEqual(['group:lab']);
    expect(e.result).not.toContain('stop');
    expect(e.result).toContain('trigger');
    expect(e.summary).toContain('workflow genome-run');
    const text = formatExplanation(e);
    expect(text).toContain('workflow_authorization.genome-run › group:lab: CONTROL, !stop');
    expect(text).toContain('Workflow genome-run: workflow_authorization has a section for it');
  });

  it('says when the workflow has no section and the server-wide rule decides', () => {
    const e = explainDecision(siteAuth, owner, bob, { name: 'other', section: undefined });
    expect(e.workflowSection).toBe(false);
    expect(e.result).toEqual(['pause', 'read']);
    expect(formatExplanation(e)).toContain('has no section for it, so the server-wide rule decides');
  });

  it('server-wide explanations say workflow null', () => {
    expect(explainDecision(siteAuth, owner, bob).workflow).toBeNull();
  });
});

describe('the Authorizer with workflow sections', () => {
  it('decides per workflow, lists the named workflows, and drops cached decisions when sections change', () => {
    const authorizer = new Authorizer(site(LIMIT_ALL));
    authorizer.setUserAuthorization('olga', ua({ '*': ['READ'] }), wa({ payroll: { '*': ['!READ'] } }));
    expect(authorizer.workflowsNamed('olga')).toEqual(['payroll']);
    expect([...authorizer.permitted(req('bob'), 'payroll')]).toEqual([]);
    expect([...authorizer.permitted(req('bob'), 'genome')]).toEqual(['read']);
    expect([...authorizer.permitted(req('bob'))]).toEqual(['read']);
    authorizer.setUserAuthorization('olga', ua({ '*': ['READ'] }));
    expect([...authorizer.permitted(req('bob'), 'payroll')]).toEqual(['read']);
    expect(authorizer.workflowsNamed('olga')).toEqual([]);
    expect(authorizer.explain(req('bob'), 'payroll').workflow).toBe('payroll');
  });
});

// --- randomised properties -------------------------------------------------------------------

const WORKFLOWS = ['w1', 'w2', 'w3'];
const waArb: fc.Arbitrary<Record<string, RawUa>> = fc.dictionary(
  fc.constantFrom(...WORKFLOWS),
  fc.dictionary(keyArb, listArb, { minKeys: 1, maxKeys: 3 }),
  { maxKeys: 3 },
);
const RUNS = { numRuns: 300 };

function scoped(
  siteRaw: Parameters<typeof site>[0],
  uaRaw: RawUa | undefined,
  waRaw: Record<string, RawUa> | undefined,
  request: AuthzRequest,
  workflow?: string,
): Set<Operation> {
  return new Set(on(siteRaw, uaRaw, waRaw, request, workflow));
}

describe('randomised properties of workflow sections', () => {
  it('with no sections, every workflow gets exactly the server-wide result', () => {
    fc.assert(
      fc.property(siteArb, uaArb, requestArb, fc.constantFrom(...WORKFLOWS), (s, u, r, w) => {
        const serverWide = [...scoped(s, u, undefined, r)];
        expect([...scoped(s, u, undefined, r, w)]).toEqual(serverWide);
        expect([...scoped(s, u, {}, r, w)]).toEqual(serverWide);
      }),
      RUNS,
    );
  });

  it('a section only adds for its own workflow, and only what it names; elsewhere it changes nothing', () => {
    fc.assert(
      fc.property(siteArb, uaArb, waArb, requestArb, fc.constantFrom(...WORKFLOWS), (s, u, sections, r, w) => {
        const serverWide = scoped(s, u, undefined, r);
        const here = scoped(s, u, sections, r, w);
        const section = sections[w];
        if (section === undefined) {
          expect([...here]).toEqual([...serverWide]);
          return;
        }
        // What the section names positively under the user's keys: the only possible additions.
        const userKeys = new Set(['*', r.user, ...r.userGroups.map((g) => `group:${g}`)]);
        const parsed = ua(section);
        const named = new Set<Operation>();
        for (const [key, list] of parsed.grants) {
          if (!userKeys.has(key)) continue;
          for (const op of decideAll(list.terms)) named.add(op);
        }
        for (const op of here) if (!serverWide.has(op)) expect(named.has(op)).toBe(true);
      }),
      RUNS,
    );
  });

  it('the site limit caps every workflow: nothing outside the server-wide limits, whatever the sections', () => {
    fc.assert(
      fc.property(siteArb, uaArb, waArb, requestArb, fc.constantFrom(...WORKFLOWS), (s, u, sections, r, w) => {
        if (r.user === r.owner) return;
        // The limit alone: what an owner who grants ALL to everyone, everywhere, would give.
        const cap = scoped(s, { '*': ['ALL'] }, undefined, r);
        for (const op of scoped(s, u, sections, r, w)) expect(cap.has(op)).toBe(true);
      }),
      RUNS,
    );
  });
});

/** The operations a list names positively, as the owner granting exactly that list to everyone would get under ALL. */
function decideAll(terms: readonly string[]): Operation[] {
  const positive = terms.filter((t) => !t.startsWith('!'));
  if (positive.length === 0) return [];
  return on(LIMIT_ALL, { '*': positive }, undefined, req('probe'));
}
