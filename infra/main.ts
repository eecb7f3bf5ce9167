import { App } from 'aws-cdk-lib';
import { buildApp } from './app';

// The CDK app entry (cdk.json): tests import buildApp from ./app without synthesizing.
const app = new App();
buildApp(app);
app.synth();
