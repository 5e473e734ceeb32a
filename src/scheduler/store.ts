/**
 * Durable engine state: one better-sqlite3 database per owner (WAL). One file per owner because
 * one engine process serves all of an owner's workflows: a single writer, a single WAL, and
 * operations that touch several workflows commit together.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openEngineDatabase } from '../storage/engine-database.js';
import type { LogLevel, MessageSeverity, TaskMessage, TaskState, WorkflowLogEntry, WorkflowStatus } from './types.js';

export interface WorkflowRow {
  name: string;
  status: WorkflowStatus;
  hold_point: number | null;
  verbosity: LogLevel;
  graph_window_extent: number;
  last_activity: string;
  /** The definition a played workflow runs with (JSON), so edits apply only on reload. */
  flow_json: string | null;
  /** How the latest run ended (JSON LastRun), null if none since the last clean. */
  last_run: string | null;
  /** The highest cycle point the runahead window has spawned (null: not recorded, an older store). */
  spawned_through?: number | null;
}

export interface TaskRow {
  workflow: string;
  cycle: number;
  name: string;
  state: TaskState;
  held: number;
  triggered: number;
  submit_num: number;
  failures: number;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  pid: number | null;
  outputs: string;
  /** The platform of the latest job (null: local, or no job yet). */
  platform: string | null;
  /** The batch system's id of the latest job (null for local jobs). */
  job_id: string | null;
  /** '1' while a kill of the latest job is asked for and not known to have landed; else null. */
  killing: string | null;
}

export interface BroadcastRow {
  workflow: string;
  cycle_point: string;
  namespace: string;
  env: string;
  script: string | null;
  /** A platform override, and directives (JSON) merged over the task's; null when not set. */
  platform: string | null;
  directives: string | null;
  seq: number;
  /** Who set it and when (ISO); null for rows stored before these were recorded. */
  set_by: string | null;
  set_at: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS workflows (
  name TEXT PRIMARY KEY, status TEXT NOT NULL, hold_point INTEGER, verbosity TEXT NOT NULL,
  graph_window_extent INTEGER NOT NULL, last_activity TEXT NOT NULL, flow_json TEXT, last_run TEXT, spawned_through INTEGER);
CREATE TABLE IF NOT EXISTS tasks (
  workflow TEXT NOT NULL, cycle INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
  held INTEGER NOT NULL, triggered INTEGER NOT NULL, submit_num INTEGER NOT NULL,
  failures INTEGER NOT NULL, started_at TEXT, finished_at TEXT, exit_code INTEGER, pid INTEGER,
  outputs TEXT NOT NULL, PRIMARY KEY (workflow, cycle, name));
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, cycle INTEGER NOT NULL, name TEXT NOT NULL,
  at TEXT NOT NULL, severity TEXT NOT NULL, text TEXT NOT NULL, by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_task ON messages (workflow, cycle, name, id);
CREATE TABLE IF NOT EXISTS broadcasts (
  workflow TEXT NOT NULL, cycle_point TEXT NOT NULL, namespace TEXT NOT NULL, env TEXT NOT NULL,
  script TEXT, seq INTEGER NOT NULL, set_by TEXT, set_at TEXT, PRIMARY KEY (workflow, cycle_point, namespace));
CREATE TABLE IF NOT EXISTS xtriggers (
  workflow TEXT NOT NULL, name TEXT NOT NULL, cycle INTEGER NOT NULL,
  PRIMARY KEY (workflow, name, cycle));
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, at TEXT NOT NULL, level TEXT NOT NULL,
  kind TEXT NOT NULL, by TEXT, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_workflow ON events (workflow, id);
`;

/** Messages kept per task in views. */
const MESSAGES_SHOWN = 5;

export class EngineStore {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Exclusive: one engine per owner folder (engine-lock.ts is the first line of defence).
    this.db = openEngineDatabase(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a commit survives the engine's death at any instant; only transactions that commit
    // submissions also wait for the disk (see durableTransaction).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.migrate();
    const db = this.db;
    this.stmts = {
      workflows: db.prepare<[], WorkflowRow>('SELECT * FROM workflows'),
      upsertWorkflow: db.prepare(`INSERT INTO workflows (name, status, hold_point, verbosity, graph_window_extent, last_activity, flow_json, last_run, spawned_through) VALUES (@name, @status, @hold_point, @verbosity,
        @graph_window_extent, @last_activity, @flow_json, @last_run, @spawned_through) ON CONFLICT(name) DO UPDATE SET status = excluded.status,
        hold_point = excluded.hold_point, verbosity = excluded.verbosity,
        graph_window_extent = excluded.graph_window_extent, last_activity = excluded.last_activity,
        flow_json = excluded.flow_json, last_run = excluded.last_run, spawned_through = excluded.spawned_through`),
      tasks: db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE workflow = ?'),
      upsertTask: db.prepare(`INSERT OR REPLACE INTO tasks (workflow, cycle, name, state, held, triggered, submit_num, failures,
        started_at, finished_at, exit_code, pid, outputs, platform, job_id, killing) VALUES (@workflow, @cycle, @name, @state, @held,
        @triggered, @submit_num, @failures, @started_at, @finished_at, @exit_code, @pid, @outputs, @platform, @job_id, @killing)`),
      deleteTask: db.prepare('DELETE FROM tasks WHERE workflow = ? AND cycle = ? AND name = ?'),
      addMessage: db.prepare('INSERT INTO messages (workflow, cycle, name, at, severity, text, by) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      latestMessages: db.prepare<[string, number, string, number], TaskMessage>(`SELECT at, severity, text, by FROM
        (SELECT * FROM messages WHERE workflow = ? AND cycle = ? AND name = ? ORDER BY id DESC LIMIT ?) ORDER BY id`),
      broadcasts: db.prepare<[string], BroadcastRow>('SELECT * FROM broadcasts WHERE workflow = ? ORDER BY seq'),
      upsertBroadcast: db.prepare(`INSERT OR REPLACE INTO broadcasts (workflow, cycle_point, namespace, env, script, platform, directives,
        seq, set_by, set_at) VALUES (@workflow, @cycle_point, @namespace, @env, @script, @platform, @directives, @seq, @set_by, @set_at)`),
      deleteBroadcast: db.prepare('DELETE FROM broadcasts WHERE workflow = ? AND cycle_point = ? AND namespace = ?'),
      xtriggers: db.prepare<[string], { name: string; cycle: number }>('SELECT name, cycle FROM xtriggers WHERE workflow = ?'),
      addXtrigger: db.prepare('INSERT OR IGNORE INTO xtriggers VALUES (?, ?, ?)'),
      addEvent: db.prepare('INSERT INTO events (workflow, at, level, kind, by, text) VALUES (?, ?, ?, ?, ?, ?)'),
      events: db.prepare<[string, number], WorkflowLogEntry>(`SELECT at, level, kind, by, text FROM
        (SELECT * FROM events WHERE workflow = ? ORDER BY id DESC LIMIT ?) ORDER BY id`),
      lastStatus: db.prepare<[string], { at: string; text: string }>("SELECT at, text FROM events WHERE workflow = ? AND kind = 'status' ORDER BY id DESC LIMIT 1"),
    };
  }

  /**
   * Brings a database made by an older engine up to SCHEMA. `CREATE TABLE IF NOT EXISTS` leaves
   * existing tables alone, so columns added since are added here, checked against the table's
   * actual columns (a crash between steps or a second engine racing must not add them twice).
   */
  private migrate(): void {
    this.transaction(() => {
      // Columns added since a table was first made, with their type (TEXT unless said).
      const added: [string, string[]][] = [
        ['broadcasts', ['set_by', 'set_at', 'platform', 'directives']], ['workflows', ['last_run', 'spawned_through INTEGER']], ['tasks', ['platform', 'job_id', 'killing']],
      ];
      for (const [table, wanted] of added) {
        const columns = new Set(this.db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all().map((c) => c.name));
        for (const column of wanted) {
          const [name, type = 'TEXT'] = column.split(' ');
          if (!columns.has(name!)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
        }
      }
    });
  }

  /** Runs `fn` in one transaction: either all of its writes land or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * A transaction whose commit is on the disk before this returns, so that it survives a power
   * cut too: a submission committed this way is never lost while its job may have started, so the
   * job never runs twice. The WAL is one file written in order, so syncing it at this commit also
   * makes every earlier commit durable (their fsync, one per job event, is what this saves).
   */
  durableTransaction<T>(fn: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return this.transaction(fn);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  workflows(): WorkflowRow[] {
    return this.stmts.workflows.all();
  }

  saveWorkflow(row: WorkflowRow): void {
    this.stmts.upsertWorkflow.run({ ...row, spawned_through: row.spawned_through ?? null });
  }

  tasks(workflow: string): TaskRow[] {
    return this.stmts.tasks.all(workflow);
  }

  saveTask(row: TaskRow): void {
    this.stmts.upsertTask.run(row);
  }

  deleteTask(workflow: string, cycle: number, name: string): void {
    this.stmts.deleteTask.run(workflow, cycle, name);
  }

  addMessage(workflow: string, cycle: number, name: string, m: { at: string; severity: MessageSeverity; text: string; by: string }): void {
    this.stmts.addMessage.run(workflow, cycle, name, m.at, m.severity, m.text, m.by);
  }

  latestMessages(workflow: string, cycle: number, name: string): TaskMessage[] {
    return this.stmts.latestMessages.all(workflow, cycle, name, MESSAGES_SHOWN);
  }

  broadcasts(workflow: string): BroadcastRow[] {
    return this.stmts.broadcasts.all(workflow);
  }

  saveBroadcast(row: BroadcastRow): void {
    this.stmts.upsertBroadcast.run(row);
  }

  deleteBroadcast(workflow: string, cyclePoint: string, namespace: string): void {
    this.stmts.deleteBroadcast.run(workflow, cyclePoint, namespace);
  }

  xtriggers(workflow: string): { name: string; cycle: number }[] {
    return this.stmts.xtriggers.all(workflow);
  }

  addXtrigger(workflow: string, name: string, cycle: number): void {
    this.stmts.addXtrigger.run(workflow, name, cycle);
  }

  addEvent(workflow: string, e: WorkflowLogEntry): void {
    this.stmts.addEvent.run(workflow, e.at, e.level, e.kind, e.by, e.text);
  }

  events(workflow: string, limit: number): WorkflowLogEntry[] {
    return this.stmts.events.all(workflow, limit);
  }

  /** The workflow's last status change as its log recorded it (a verbosity above WARNING records none). */
  lastStatus(workflow: string): { at: string; text: string } | undefined {
    return this.stmts.lastStatus.get(workflow);
  }

  /** Forgets a workflow's run: tasks, messages, broadcasts, xtriggers (the event log stays). */
  forgetRun(workflow: string): void {
    for (const table of ['tasks', 'messages', 'broadcasts', 'xtriggers']) {
      this.db.prepare(`DELETE FROM ${table} WHERE workflow = ?`).run(workflow);
    }
  }

  close(): void {
    this.db.close();
  }
}
