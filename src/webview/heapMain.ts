// Entry of the Heap view page (bundled to dist/webview/heapMain.js).

import { HeapTableView, type HeapPageState } from './heapTableView';
import { connectHost, onHostMessages } from './vscodeApi';
import type { HeapToHostMessage, HostToHeapMessage } from '../protocol/heapView';

const host = connectHost<HeapPageState>();
// The page posts its own messages through the same handle (the shared type covers panels only).
const post = (m: HeapToHostMessage) => (host.post as (x: unknown) => void)(m);
const view = new HeapTableView(document.getElementById('app') ?? document.body, post, { get: () => host.getState(), set: s => host.setState(s) });

onHostMessages(host, 'heap', raw => {
  const m = raw as HostToHeapMessage;
  if (m.type === 'heap/state') view.setState(m.state);
});
