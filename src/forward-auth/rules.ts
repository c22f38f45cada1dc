import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError } from '../config.js';

/**
 * The forward-auth rules of the settings file (`forwardAuth:` in MAMORI_CONFIG), checked and
 * compiled once at start: a rule that cannot be read stops the start instead of being skipped,
 * since a skipped rule silently changes who may pass.
 */

export const POLICIES = ['bypass', 'one_factor', 'two_factor', 'phishing_resistant', 'deny'] as const;
export type Policy = (typeof POLICIES)[number];

const OneOrMany = (item: ReturnType<typeof Type.String>) => Type.Union([item, Type.Array(item, { minItems: 1, maxItems: 200 })]);

const PolicySchema = Type.Union(POLICIES.map((p) => Type.Literal(p)));

const RuleSchema = Type.Object(
  {
    domain: OneOrMany(Type.String({ minLength: 1, maxLength: 255 })),
    resources: Type.Optional(OneOrMany(Type.String({ minLength: 1, maxLength: 1000 }))),
    methods: Type.Optional(OneOrMany(Type.String({ minLength: 1, maxLength: 20 }))),
    subject: Type.Optional(OneOrMany(Type.String({ minLength: 1, maxLength: 320 }))),
    policy: PolicySchema,
  },
  { additionalProperties: false },
);

const SectionSchema = Type.Object(
  {
    defaultPolicy: Type.Optional(PolicySchema),
    rules: Type.Optional(Type.Array(RuleSchema, { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);

type RawRule = Static<typeof RuleSchema>;

/** A host pattern: an exact name, or `*.` + a name for every host under it (at any depth, not the name itself). */
export type DomainPattern = { exact: string } | { suffix: string };

export type Subject = { group: string } | { email: string };

export interface Rule {
  /** 1-based, for messages and logs. */
  number: number;
  domains: DomainPattern[];
  /** Matched against the normalised path only (never the query or a fragment); absent: any path. */
  resources: RegExp[] | undefined;
  methods: ReadonlySet<string> | undefined;
  /** Any of them; absent: anyone (signed in or not, as the policy says). */
  subjects: Subject[] | undefined;
  policy: Policy;
}

export interface Rules {
  defaultPolicy: Policy;
  rules: Rule[];
}

/** What a rule sees of a request: its host (lower case, no port) and normalised path, and the method. */
export interface RuleTarget {
  host: string;
  path: string;
  method: string;
}

/** Who asks, for subjects: the email and the groups (the role among them). */
export interface RuleSubject {
  email: string;
  groups: readonly string[];
}

const HOST_LABELS = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const METHOD = /^[A-Z]{1,20}$/;
const GROUP = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

function where(source: string | undefined): string {
  return source === undefined ? 'forwardAuth' : `${source}: forwardAuth`;
}

function domainPattern(raw: string, at: string): DomainPattern {
  const d = raw.trim().toLowerCase().replace(/\.$/, '');
  const wildcard = d.startsWith('*.');
  const name = wildcard ? d.slice(2) : d;
  if (!HOST_LABELS.test(name)) throw new ConfigError('MAMORI_CONFIG', `${at}: "${raw}" is not a host name or *.name`);
  return wildcard ? { suffix: `.${name}` } : { exact: name };
}

function resource(raw: string, at: string): RegExp {
  try {
    // No flags: "i" or "s" would widen what an operator wrote, "g" or "y" would make test() stateful.
    return new RegExp(raw);
  } catch (err) {
    throw new ConfigError('MAMORI_CONFIG', `${at}: "${raw}" is not a valid regular expression (${err instanceof Error ? err.message : 'invalid'})`);
  }
}

function subject(raw: string, at: string): Subject {
  const m = /^(group|user):(.+)$/.exec(raw.trim());
  if (m?.[1] === 'group' && GROUP.test(m[2]!)) return { group: m[2]! };
  // Emails are stored normalised (NFKC, lower case), so the subject is compared in that form.
  if (m?.[1] === 'user' && /^[^\s@]+@[^\s@]+$/.test(m[2]!)) return { email: m[2]!.normalize('NFKC').toLowerCase() };
  throw new ConfigError('MAMORI_CONFIG', `${at}: "${raw}" is not group:<name> or user:<email>`);
}

function compileRule(raw: RawRule, number: number, source: string | undefined): Rule {
  const at = `${where(source)}.rules[${number - 1}]`;
  const methods = list(raw.methods)?.map((m) => {
    const upper = m.trim().toUpperCase();
    if (!METHOD.test(upper)) throw new ConfigError('MAMORI_CONFIG', `${at}: "${m}" is not an HTTP method`);
    return upper;
  });
  const subjects = list(raw.subject)?.map((x) => subject(x, at));
  // bypass never looks at who is signed in, so a subject there would read as a restriction that is not one.
  if (raw.policy === 'bypass' && subjects !== undefined) {
    throw new ConfigError('MAMORI_CONFIG', `${at}: a bypass rule cannot have a subject (bypass lets everyone through, signed in or not)`);
  }
  return {
    number,
    domains: list(raw.domain)!.map((d) => domainPattern(d, at)),
    resources: list(raw.resources)?.map((r) => resource(r, at)),
    methods: methods === undefined ? undefined : new Set(methods),
    subjects,
    policy: raw.policy,
  };
}

/** Reads the `forwardAuth` section; absent, every target is denied. */
export function parseRules(section: unknown, source?: string): Rules {
  if (section === undefined || section === null) return { defaultPolicy: 'deny', rules: [] };
  if (!Value.Check(SectionSchema, section)) {
    const first = Value.Errors(SectionSchema, section).find((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf') ?? Value.Errors(SectionSchema, section)[0];
    const path = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.') : '';
    const unknown = first?.keyword === 'additionalProperties' ? ` (unknown key ${JSON.stringify(first.params)})` : '';
    throw new ConfigError('MAMORI_CONFIG', `${where(source)}${path ? `.${path}` : ''}: ${first?.message ?? 'is not valid'}${unknown}`);
  }
  return { defaultPolicy: section.defaultPolicy ?? 'deny', rules: (section.rules ?? []).map((r, i) => compileRule(r, i + 1, source)) };
}

export function domainMatches(pattern: DomainPattern, host: string): boolean {
  return 'exact' in pattern ? host === pattern.exact : host.endsWith(pattern.suffix);
}

/** Whether a rule's request part (domain, path, method) fits; subjects are the caller's business. */
export function requestMatches(rule: Rule, target: RuleTarget): boolean {
  if (!rule.domains.some((d) => domainMatches(d, target.host))) return false;
  if (rule.methods !== undefined && !rule.methods.has(target.method)) return false;
  if (rule.resources !== undefined && !rule.resources.some((re) => re.test(target.path))) return false;
  return true;
}

export function subjectMatches(rule: Rule, who: RuleSubject): boolean {
  if (rule.subjects === undefined) return true;
  return rule.subjects.some((s) => ('group' in s ? who.groups.includes(s.group) : who.email === s.email));
}
