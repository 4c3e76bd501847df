import * as path from 'path';
import { PROJECT_ROOT } from '../studies/context';
import { intFlag, parseArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import { adminToken, listen } from '../userstudy/server';
import { defaultDbFile, ResponseStore } from '../userstudy/store';
import { findTaskSets, TASKS_FILE, USER_STUDY_DIR } from '../userstudy/tasks';
import type { Command } from './command';

const USAGE = `usage: tessera serve [--out DIR] [--port N] [--host H] [--db FILE]

Serves every user-study task set found under the output folder (<out>/<study>/${USER_STUDY_DIR}/${TASKS_FILE}) to
participants in the browser, and stores their answers durably (SQLite, WAL, full sync) as they come in.
Prints the participants' URL and the admin token (kept in <db folder>/admin-token, mode 600); the admin view
(/admin) and GET /api/responses.csv need that token. Stop with Ctrl-C.

options:
  --out DIR    folder with the studies' outputs (default figures/)
  --port N     TCP port (default 8080; 0 picks a free one)
  --host H     address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)
  --db FILE    the answers' database (default <out>/user-study/responses.sqlite)`;

export const command: Command = {
  name: 'serve',
  summary: 'serve the user-study task sets to participants in the browser; answers stored durably',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'serve', values: ['out', 'port', 'host', 'db'] });
    const out = path.resolve(stringFlag(args, 'out', path.join(PROJECT_ROOT, 'figures')));
    const db = path.resolve(stringFlag(args, 'db', defaultDbFile(out)));
    const host = stringFlag(args, 'host', '127.0.0.1');
    const port = intFlag(args, 'port', 8080, { min: 0, max: 65535 });
    if (args.positional.length) throw new UserError(`serve: takes no positional arguments, found "${args.positional.join(' ')}"`);
    const taskSets = findTaskSets(out);
    if (!taskSets.length) {
      throw new UserError(
        `serve: no task sets under ${out} (expected <out>/<study>/${USER_STUDY_DIR}/${TASKS_FILE}); ` +
          'run `npx tessera reproduce smoke` to write the demo set, or pass --out DIR',
      );
    }
    const { token, file } = adminToken(db);
    const store = new ResponseStore(db);
    let server;
    try {
      server = await listen({ taskSets, store, adminToken: token, host, port });
    } catch (err) {
      store.close();
      throw new UserError(`serve: cannot listen on ${host}:${port} (${(err as Error).message}); pick another --port or --host`);
    }
    const sets = taskSets.map((s) => `${s.study} (${s.tasks.length} tasks)`).join(', ');
    console.log(`tessera serve: task sets ${sets}`);
    console.log(`participants: ${server.url}`);
    console.log(`admin view:   ${server.url}admin`);
    console.log(`admin token:  ${token} (kept in ${file})`);
    if (!/^127\./.test(server.host) && server.host !== '::1') {
      console.log(`warning: listening on ${server.host}, not loopback: anyone who can reach this machine can open the pages`);
    }
    console.log(`database:     ${db}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
