// Entry of the Memory timeline panel page (bundled to dist/webview/timelineMain.js).

import { TimelineView, type TimelineViewState } from './timelineView';
import { connectHost, onHostMessages } from './vscodeApi';
import type { HostToTimelineMessage } from '../protocol/webview';

const host = connectHost<TimelineViewState>();
const view = new TimelineView(document.getElementById('app') ?? document.body, host);

onHostMessages(host, 'timeline', raw => {
  const m = raw as HostToTimelineMessage;
  switch (m.type) {
    case 'timeline/state': view.setState(m.state); break;
    case 'timeline/append': view.append(m.samples, m.markers, m.workers); break;
    case 'timeline/baseline': view.setBaseline(m.baseline); break;
    default: break; // messages of a newer host are ignored
  }
});
