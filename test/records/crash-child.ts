/**
 * Child process for the retention crash tests: runs one retention run on DIR at NOW and kills
 * itself with SIGKILL at the fault point named by POINT (after-archive-written,
 * after-archive-committed or after-deletion-logged), as a crash there would. Run from dist: node dist/test/records/crash-child.js.
 */
import { runRetention } from '../../src/records/retention-job.js';
import { RecordService } from '../../src/records/service.js';
import { Log } from '../../src/sequencer/log.js';

const [dir, now, point] = process.argv.slice(2);
const nowMs = Date.parse(now!);
const log = await Log.open({ dir: dir! });
const svc = await RecordService.open({ log, dataDir: dir!, now: () => nowMs });
const die = () => process.kill(process.pid, 'SIGKILL');
await runRetention(svc, {
  nowMs,
  faults: {
    ...(point === 'after-archive-written' ? { afterArchiveWritten: die } : {}),
    ...(point === 'after-archive-committed' ? { afterArchiveCommitted: die } : {}),
    ...(point === 'after-deletion-logged' ? { afterDeletionLogged: die } : {}),
  },
});
process.stdout.write('fault point not reached\n');
await log.close();
