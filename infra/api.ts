import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { defaultRoute, gatewayRoutes, type OperationDef } from '../functions/routes';
import { capabilitiesOf } from './permissions';
import { ServiceFunction } from './service-function';

export interface ApiProps {
  /**
   * The operations (functions/routes.ts): one function per module, one API route per gateway
   * route derived from them (`gatewayRoutes`).
   */
  readonly operations: OperationDef[];
  /** Issuer (`iss`) of the JWTs the authorizer accepts; its OIDC discovery document must be public. */
  readonly issuer: string;
  /** Audience (`aud`) the JWTs must carry. */
  readonly audience: string;
  /**
   * Browser origins allowed to call the API (CORS).
   * @default - no CORS: only non-browser clients
   */
  readonly allowedOrigins?: string[];
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  /** Encrypts the functions' and the access log groups. */
  readonly logKey: kms.IKey;
  /**
   * Extra environment variables for every API function (e.g. `MAX_DIRECT_BYTES`).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Steady-state requests per second the stage accepts before answering 429.
   * @default 1000
   */
  readonly throttleRate?: number;
  /**
   * Burst of requests the stage accepts.
   * @default 2000
   */
  readonly throttleBurst?: number;
}

/** Request headers a browser client may send (C4, C8, C11, C17, C18, C21, C38). */
const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'prefer',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'range',
  'x-security-context',
  'log-cdata',
  'log-cdata-format',
  'idempotency-key',
];
/** Response headers a browser client may read (C5, C10, C16, C18, C35, C41). */
const CORS_EXPOSE_HEADERS = [
  'etag',
  'last-modified',
  'location',
  'content-location',
  'content-range',
  'content-disposition',
  'x-security-context',
  'www-authenticate',
  'idempotent-replayed',
];

const pascal = (name: string) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

/**
 * The HTTP API: a JWT authorizer (C2), one function per module of the route table with only the
 * grants its operations declare (functions/routes.ts), and the gateway routes derived from them.
 */
export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** The function that serves each operation (by operation name). */
  readonly functions = new Map<string, ServiceFunction>();

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const origins = props.allowedOrigins ?? [];
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'FHIR R4 Binary service',
      createDefaultStage: false,
      corsPreflight: origins.length
        ? {
            allowOrigins: origins,
            allowMethods: [apigw.CorsHttpMethod.ANY],
            allowHeaders: CORS_ALLOW_HEADERS,
            exposeHeaders: CORS_EXPOSE_HEADERS,
            maxAge: Duration.hours(1),
          }
        : undefined,
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate ?? 1000, burstLimit: props.throttleBurst ?? 2000 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        // No query strings: they may carry search values; never the Authorization header.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const jwt = new HttpJwtAuthorizer('Jwt', props.issuer, {
      jwtAudience: [props.audience],
      identitySource: ['$request.header.Authorization'],
    });
    const none = new apigw.HttpNoneAuthorizer();

    const modules = new Map<string, ServiceFunction>();
    for (const [module, ops] of byModule(props.operations)) {
      const id = pascal(module.replace(/^.*\//, ''));
      const fn = new ServiceFunction(this, id, {
        module,
        ...memoryOf(ops),
        description: `FHIR Binary: ${ops.map((o) => o.name).join(', ')}`,
        logKey: props.logKey,
        environment: {
          ...props.environment,
          TABLE_NAME: props.table.tableName,
          BUCKET_NAME: props.bucket.bucketName,
        },
      });
      fn.grantCapabilities(capabilitiesOf(ops), props.table, props.bucket);
      modules.set(module, fn);
      for (const op of ops) this.functions.set(op.name, fn);
    }
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of gatewayRoutes(props.operations)) {
      const fn = modules.get(route.module)!;
      let integration = integrations.get(route.module);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${fn.node.id}Integration`, fn.fn);
        integrations.set(route.module, integration);
      }
      const added = this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method as apigw.HttpMethod],
        integration,
        ...(route.public ? { authorizer: none } : { authorizer: jwt, authorizationScopes: route.scopes }),
      });
      if (route.public)
        for (const r of added)
          Validations.of(r).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason: 'C2/C27: the CapabilityStatement is public by the FHIR and SMART specifications.',
          });
    }

    // C40: what no route matches reaches the fallback function (404/405/501 as OperationOutcomes)
    // instead of API Gateway's bare {"message":"Not Found"}. No authorizer: it touches no data.
    const fallback = new ServiceFunction(this, pascal(defaultRoute.name), {
      module: defaultRoute.module,
      description: 'FHIR Binary: $default route (404, 405, 501)',
      logKey: props.logKey,
      environment: {
        ...props.environment,
        TABLE_NAME: props.table.tableName,
        BUCKET_NAME: props.bucket.bucketName,
      },
    });
    this.functions.set(defaultRoute.name, fallback);
    const defaultRouteResource = new apigw.HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: apigw.HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('FallbackIntegration', fallback.fn),
      authorizer: none,
    });
    Validations.of(defaultRouteResource).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'C40: the $default route only answers 404/405/501 OperationOutcomes and touches no data.',
    });
  }
}

/** The memory of a module's function: the largest its operations declare, else the default. */
function memoryOf(ops: OperationDef[]): { memorySize?: number } {
  const mb = Math.max(0, ...ops.map((o) => o.memoryMB ?? 0));
  return mb > 0 ? { memorySize: mb } : {};
}

/** Operations grouped by the module (one Lambda function) that serves them. */
export function byModule(ops: OperationDef[]): Map<string, OperationDef[]> {
  const groups = new Map<string, OperationDef[]>();
  for (const op of ops) groups.set(op.module, [...(groups.get(op.module) ?? []), op]);
  return groups;
}
