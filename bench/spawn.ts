/** Child-process servers on 127.0.0.1: start, wait for the `listening on` line, stop. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Child {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:<port>` from the `listening on` line. */
  readonly url: string;
  /** Every stdout line printed before the `listening on` line (origin, vkey, admin token). */
  readonly banner: readonly string[];
  stop(): Promise<void>;
}

/** Spawns `node args...` and resolves once it prints `listening on http://...`; rejects on exit or timeout. */
export function startServer(args: string[], timeoutMs = 30_000): Promise<Child> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const banner: string[] = [];
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise<Child>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server ${args.join(' ')} did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server ${args.join(' ')} exited with ${code} before listening: ${stderr}`));
    };
    proc.once('exit', onExit);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (!m) {
          banner.push(line);
          continue;
        }
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve({ proc, url: m[1]!, banner, stop: () => stopChild(proc) });
      }
    });
  });
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
