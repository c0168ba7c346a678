// Entry of dist/server.js: the race-risk language server over the transport the client chose (IPC).
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);
// Last resort: a bug must cost one request, never the server.
process.on('uncaughtException', e => connection.console.error(`[races] unexpected error: ${e.stack ?? e.message}`));
process.on('unhandledRejection', e => connection.console.error(`[races] unexpected rejection: ${String(e)}`));
startServer(connection);
