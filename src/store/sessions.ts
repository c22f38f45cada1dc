import { newId, newToken, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { CompiledQuery, InferResult, Kysely, Transaction } from 'kysely';
import type { Database, Session, User } from './schema.js';

/** Stand-ins the live-session query is compiled with, replaced by each request's values. */
const LIVE = { tokenHash: '\u0000token-hash', expiresAfter: -1_000_001, seenAfter: -1_000_002 } as const;

function liveWithUserQuery(db: Kysely<Database>, tokenHash: string, expiresAfter: number, seenAfter: number) {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('sessions')
    .select([
      'users.email as u_email',
      'users.name as u_name',
      'users.role as u_role',
      'users.locale as u_locale',
      'users.password_hash as u_password_hash',
      'users.password_changed_at as u_password_changed_at',
      'users.disabled as u_disabled',
      'users.created_at as u_created_at',
      'users.last_sign_in_at as u_last_sign_in_at',
      'users.webauthn_user_handle as u_webauthn_user_handle',
      'users.force_password_change as u_force_password_change',
    ])
    .where('sessions.token_hash', '=', tokenHash)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', expiresAfter)
    .where('sessions.last_seen_at', '>', seenAfter);
}

type LiveRow = InferResult<ReturnType<typeof liveWithUserQuery>>[number];

/**
 * The live-session query runs on every signed-in request; building and compiling it with Kysely
 * cost about a tenth of GET /session in a profile. It is compiled once per dialect, and each
 * request only fills in its values.
 */
const compiledLive = new Map<string, CompiledQuery<LiveRow>>();

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

export class SessionRepository {
  constructor(
    private readonly store: Store,
    private readonly limits: SessionLimits,
  ) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): SessionRepository {
    return new SessionRepository({ ...this.store, db: trx }, this.limits);
  }

  async create(s: {
    userId: string;
    aal: number;
    amr: string[];
    mfaSetupOnly: boolean;
    passwordChangeOnly?: boolean;
    now: number;
    mfaVerifiedAt: number | null;
    phrVerifiedAt?: number | null;
    ip: string | null;
    userAgent: string | null;
  }): Promise<{ token: string; session: Session }> {
    const token = newToken();
    const session: Session = {
      id: newId(),
      token_hash: sha256Hex(token),
      user_id: s.userId,
      aal: s.aal,
      amr: JSON.stringify(s.amr),
      mfa_setup_only: s.mfaSetupOnly ? 1 : 0,
      password_change_only: s.passwordChangeOnly ? 1 : 0,
      created_at: s.now,
      signed_in_at: s.now,
      mfa_verified_at: s.mfaVerifiedAt,
      phr_verified_at: s.phrVerifiedAt ?? null,
      last_seen_at: s.now,
      expires_at: s.now + this.limits.absoluteMs,
      revoked_at: null,
      ip: s.ip,
      user_agent: s.userAgent,
    };
    await this.db.insertInto('sessions').values(session).execute();
    return { token, session };
  }

  /** The live session for a cookie value, touched for the idle timeout; undefined if none. */
  async findLive(token: string, now: number): Promise<Session | undefined> {
    return (await this.findLiveWithUser(token, now))?.session;
  }

  /**
   * The live session for a cookie value with its user, in one query (every authenticated request
   * asks this), touched for the idle timeout; undefined if none.
   */
  async findLiveWithUser(token: string, now: number): Promise<{ session: Session; user: User } | undefined> {
    let compiled = compiledLive.get(this.store.dialect);
    if (!compiled) {
      compiled = liveWithUserQuery(this.db, LIVE.tokenHash, LIVE.expiresAfter, LIVE.seenAfter).compile();
      compiledLive.set(this.store.dialect, compiled);
    }
    const values = new Map<unknown, unknown>([
      [LIVE.tokenHash, sha256Hex(token)],
      [LIVE.expiresAfter, now],
      [LIVE.seenAfter, now - this.limits.idleMs],
    ]);
    const { rows } = await this.db.executeQuery<LiveRow>({ ...compiled, parameters: compiled.parameters.map((p) => (values.has(p) ? values.get(p) : p)) });
    const row = rows[0];
    if (!row) return undefined;
    // Each object is written out field by field: a rest pattern over the 28-column row (copying
    // all but the excluded keys) cost more than the lookup itself on every signed-in request.
    const session: Session = {
      id: row.id,
      token_hash: row.token_hash,
      user_id: row.user_id,
      aal: row.aal,
      amr: row.amr,
      mfa_setup_only: row.mfa_setup_only,
      password_change_only: row.password_change_only,
      created_at: row.created_at,
      signed_in_at: row.signed_in_at,
      mfa_verified_at: row.mfa_verified_at,
      phr_verified_at: row.phr_verified_at,
      last_seen_at: row.last_seen_at,
      expires_at: row.expires_at,
      revoked_at: row.revoked_at,
      ip: row.ip,
      user_agent: row.user_agent,
    };
    const user: User = {
      id: row.user_id,
      email: row.u_email,
      name: row.u_name,
      role: row.u_role,
      locale: row.u_locale,
      password_hash: row.u_password_hash,
      password_changed_at: row.u_password_changed_at,
      disabled: row.u_disabled,
      created_at: row.u_created_at,
      last_sign_in_at: row.u_last_sign_in_at,
      webauthn_user_handle: row.u_webauthn_user_handle,
      force_password_change: row.u_force_password_change,
    };
    // Writing last_seen_at on every request would serialise all reads on SQLite; a minute is fine-grained enough.
    if (now - session.last_seen_at > 60_000) {
      await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', session.id).execute();
      session.last_seen_at = now;
    }
    return { session, user };
  }

  /**
   * A new token for a session whose level rose; the old token stops working in the same statement.
   * Returns undefined when the session was revoked meanwhile.
   */
  async raise(
    id: string,
    changes: { aal: number; amr: string[]; mfaVerifiedAt: number; mfaSetupOnly: boolean; phishingResistant?: boolean },
    now: number,
  ): Promise<string | undefined> {
    const token = newToken();
    const r = await this.db
      .updateTable('sessions')
      .set({
        token_hash: sha256Hex(token),
        aal: changes.aal,
        amr: JSON.stringify(changes.amr),
        mfa_verified_at: changes.mfaVerifiedAt,
        mfa_setup_only: changes.mfaSetupOnly ? 1 : 0,
        ...(changes.phishingResistant ? { phr_verified_at: changes.mfaVerifiedAt } : {}),
        last_seen_at: now,
      })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? token : undefined;
  }

  /** Lifts or sets a session's restrictions (a forced password change was made, say). */
  async restrict(id: string, r: { mfaSetupOnly: boolean; passwordChangeOnly: boolean }): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ mfa_setup_only: r.mfaSetupOnly ? 1 : 0, password_change_only: r.passwordChangeOnly ? 1 : 0 })
      .where('id', '=', id)
      .execute();
  }

  find(id: string): Promise<Session | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listLive(userId: string, now: number): Promise<Session[]> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('last_seen_at', '>', now - this.limits.idleMs)
      .orderBy('created_at', 'desc')
      .execute();
  }

  async revoke(userId: string, id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Deletes sessions that ended before `before` — expired, revoked, or idle for longer than the
   * idle limit by then — and returns how many went. Live ones are never touched.
   */
  async purgeEnded(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before), eb('last_seen_at', '<', before - this.limits.idleMs)]))
      .executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }

  /** Ends every session of the user except `keepId`; returns how many ended. */
  async revokeAll(userId: string, now: number, keepId?: string): Promise<number> {
    let q = this.db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (keepId) q = q.where('id', '!=', keepId);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
