import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured logger of every function (HTTP handlers, emitter, reaper). Its own module,
 * so the stream consumers log without bundling middy and the HTTP chain.
 */
export const logger = new Logger({ serviceName: 'fhir-binary' });
