// Entry point of the Node CLI (what the C front end runs for a direct call), and of the warm server
// that front end starts (`--tsrunc-server SOCKET`, see src/server/).
import { runCli } from './run-cli.js';

if (process.argv[2] === '--tsrunc-server' && process.argv[3] !== undefined) {
  const { serve } = await import('../server/serve.js');
  await serve(process.argv[3]);
} else {
  process.exit(await runCli(process.argv));
}
