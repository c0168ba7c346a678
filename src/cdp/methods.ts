// Every CDP method Worker Lens calls, by name: the agent's Python domain (src/protocol/agent.ts)
// plus the standard methods both the agent and V8 serve (src/protocol/cdp.ts).
import type { PythonDomain } from '../protocol/agent';
import type { StandardDomains } from '../protocol/cdp';

export type { CdpEvents } from '../protocol/cdp';
export type CdpMethods = PythonDomain & StandardDomains;
export type CdpMethod = keyof CdpMethods;
export type ParamsOf<M extends CdpMethod> = CdpMethods[M][0];
export type ResultOf<M extends CdpMethod> = CdpMethods[M][1];
