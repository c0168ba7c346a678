// Entry of the Retainers panel page (bundled to dist/webview/retainersMain.js).

import { RetainersView, type RetainersViewState } from './retainersView';
import { connectHost, onHostMessages } from './vscodeApi';
import type { RetainerGraph } from '../protocol/webview';

const host = connectHost<RetainersViewState>();
const view = new RetainersView(document.getElementById('app') ?? document.body, host);

onHostMessages(host, 'retainers', m => {
  switch (m.type) {
    case 'retainers/graph': view.setGraph(m.graph as RetainerGraph); break;
    case 'retainers/select': if (typeof m.nodeId === 'string') view.selectNode(m.nodeId); break;
    case 'retainers/status': view.setStatus(String(m.text ?? ''), m.busy === true, m.error === true); break;
    default: break; // messages of a newer host are ignored
  }
});
