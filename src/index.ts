// The embeddable API: `import { Runtime } from 'tsrunc'`. The lifecycle functions below it are the
// same ones the CLI's commands call (Runtime is a thin layer over them, as the CLI is).
export { Runtime, type RuntimeEvents, type ContainerOptions, type RunContainerOptions, type ExecContainerOptions, type ExitStatus } from './runtime/runtime.js';
export { TsruncError, type ErrorCode } from './errors.js';
export { makeContext, type RuntimeOptions, type Context, type Logger } from './runtime/context.js';
export { createContainer, type CreateOptions } from './runtime/create.js';
export { startContainer } from './runtime/start.js';
export { runContainer, type RunOptions } from './runtime/run.js';
export { killContainer } from './runtime/kill.js';
export { deleteContainer } from './runtime/delete.js';
export { containerState, listContainers } from './runtime/query.js';
export type { OciState } from './runtime/live-status.js';
