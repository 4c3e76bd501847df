import Database from 'better-sqlite3';
import * as fs from 'fs';
import * as path from 'path';
import { type Answer, USER_STUDY_DIR } from './tasks';

/** Where answers are kept unless --db says otherwise: <out>/user-study/responses.sqlite. */
export function defaultDbFile(out: string): string {
  return path.join(out, USER_STUDY_DIR, 'responses.sqlite');
}

/** A stored answer: the answer plus its row id and the time it was received (ISO 8601, UTC). */
export interface StoredAnswer extends Answer {
  id: number;
  received: string;
}

/** Thrown by `addResponse` when the participant already answered that task (the HTTP layer's 409). */
export class DuplicateAnswer extends Error {}

/**
 * The answers' durable store: SQLite through better-sqlite3, in WAL mode with synchronous=FULL, so a transaction
 * that returned is in the fsync'd write-ahead log and survives a kill -9 of the server (and a power cut). Calls are
 * synchronous: when `addResponse` returns, the answer is on disk, and only then does the server acknowledge it.
 */
export class ResponseStore {
  private readonly db: Database.Database;
  private readonly insertParticipant: Database.Statement<[string, string]>;
  private readonly hasParticipant: Database.Statement<[string]>;
  private readonly insertResponse: Database.Statement<[string, string, string, string, string]>;
  private readonly answeredBy: Database.Statement<[string]>;

  /** Opens (creating when missing) the database at `file`; its folder is created too. */
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS participants (
        token TEXT PRIMARY KEY,
        created TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS responses (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        participant TEXT NOT NULL REFERENCES participants(token),
        study TEXT NOT NULL,
        task TEXT NOT NULL,
        answer TEXT NOT NULL,
        received TEXT NOT NULL,
        UNIQUE (participant, study, task)
      );`);
    this.insertParticipant = this.db.prepare('INSERT INTO participants (token, created) VALUES (?, ?)');
    this.hasParticipant = this.db.prepare('SELECT 1 FROM participants WHERE token = ?');
    this.insertResponse = this.db.prepare('INSERT INTO responses (participant, study, task, answer, received) VALUES (?, ?, ?, ?, ?)');
    this.answeredBy = this.db.prepare('SELECT study, task FROM responses WHERE participant = ?');
  }

  addParticipant(token: string): void {
    this.insertParticipant.run(token, new Date().toISOString());
  }

  isParticipant(token: string): boolean {
    return this.hasParticipant.get(token) !== undefined;
  }

  /** Stores an answer durably and returns its id; throws DuplicateAnswer when (participant, study, task) exists. */
  addResponse(a: Answer): number {
    try {
      const info = this.insertResponse.run(a.participant, a.study, a.task, JSON.stringify(a.answer), new Date().toISOString());
      return Number(info.lastInsertRowid);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new DuplicateAnswer(`participant already answered task ${a.task} of study ${a.study}`);
      }
      throw err;
    }
  }

  /** The "<study>/<task>" keys a participant has answered. */
  answered(participant: string): Set<string> {
    const rows = this.answeredBy.all(participant) as { study: string; task: string }[];
    return new Set(rows.map((r) => `${r.study}/${r.task}`));
  }

  /** Every stored answer in id order, optionally of one study. */
  responses(study?: string): StoredAnswer[] {
    const sql = 'SELECT id, participant, study, task, answer, received FROM responses' + (study ? ' WHERE study = ?' : '') + ' ORDER BY id';
    const rows = (study ? this.db.prepare(sql).all(study) : this.db.prepare(sql).all()) as (Omit<StoredAnswer, 'answer'> & {
      answer: string;
    })[];
    return rows.map((r) => ({ ...r, answer: JSON.parse(r.answer) as Answer['answer'] }));
  }

  close(): void {
    this.db.close();
  }
}
