import { memoryPorts } from '../../functions/adapters/memory';
import { describePortConformance } from '../support/port-conformance';

// The in-memory adapters keep the same contract as the AWS ones (test/integration/ports-aws.test.ts).
describePortConformance('in-memory adapters', async () => memoryPorts());
