// Waiting for a file or directory to change, for the loops of `wait` and `logs -f`: an fs.watch event
// wakes them at once, a timer at the latest (events can be missed between a check and the watch).
import { watch, type FSWatcher } from 'node:fs';

export class ChangeWaiter {
  private readonly watcher: FSWatcher;
  private wake: (() => void) | undefined;

  constructor(path: string) {
    this.watcher = watch(path);
    this.watcher.on('change', () => this.wake?.());
    this.watcher.on('error', () => this.wake?.());
  }

  /** Resolves at the next change of the path, or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(): void {
    this.watcher.close();
  }
}
