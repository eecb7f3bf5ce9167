import { Template } from 'aws-cdk-lib/assertions';
import { API_FUNCTION_TIMEOUT_SECONDS, UPLOAD_COMPLETE_MEMORY_MB } from '../../functions/routes';
import { buildApp } from '../../infra/app';
import { logicalIdOf, testApp } from './support';

// C30: the completion that hashes up to 2 GiB gets a full vCPU; every API function stays within
// API Gateway's 30 s, so long work is split across requests (202 + Retry-After), never cut off.
test('C30: $upload completion runs with one full vCPU (1,769 MB) and the API timeout of 29 s', () => {
  const app = testApp();
  const stack = buildApp(app, { issuer: 'https://issuer.example.com/', audience: 'aud' });
  const template = Template.fromStack(stack);
  const fns = template.findResources('AWS::Lambda::Function');
  const complete = fns[logicalIdOf(stack.api.functions.get('upload-complete')!.fn)]!;
  expect(complete.Properties.MemorySize).toBe(UPLOAD_COMPLETE_MEMORY_MB);
  expect(UPLOAD_COMPLETE_MEMORY_MB).toBe(1769);
  expect(complete.Properties.Timeout).toBe(API_FUNCTION_TIMEOUT_SECONDS);
  const read = fns[logicalIdOf(stack.api.functions.get('read')!.fn)]!;
  expect(read.Properties.MemorySize).toBe(512);
});
