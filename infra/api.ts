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
import { defaultRoute, type RouteDef, scopesFor } from '../functions/routes';
import { capabilitiesFor } from './permissions';
import { ServiceFunction } from './service-function';

export interface ApiProps {
  /** The route table (functions/routes.ts): one function per route name, one API route per entry. */
  readonly routes: RouteDef[];
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
 * The HTTP API: a JWT authorizer (C2), and for every operation of the route table one function
 * with only the grants its route needs (infra/permissions.ts) and one route per method and path.
 */
export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** The function of each route name. */
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

    for (const [name, group] of groupByName(props.routes)) {
      const { module, access, memoryMB } = group[0]!;
      const fn = new ServiceFunction(this, pascal(name), {
        module,
        ...(memoryMB !== undefined ? { memorySize: memoryMB } : {}),
        description: `FHIR Binary: ${name}`,
        logKey: props.logKey,
        environment: {
          ...props.environment,
          TABLE_NAME: props.table.tableName,
          BUCKET_NAME: props.bucket.bucketName,
        },
      });
      fn.grantCapabilities(capabilitiesFor(name, access), props.table, props.bucket);
      this.functions.set(name, fn);
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, fn.fn);
      for (const route of group) {
        const routes = this.httpApi.addRoutes({
          path: route.path,
          methods: [route.method as apigw.HttpMethod],
          integration,
          ...(access === 'public'
            ? { authorizer: none }
            : { authorizer: jwt, authorizationScopes: scopesFor(access) }),
        });
        if (access === 'public')
          for (const r of routes)
            Validations.of(r).acknowledge({
              id: 'AwsSolutions-APIG4',
              reason: 'C2/C27: the CapabilityStatement is public by the FHIR and SMART specifications.',
            });
      }
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

/** Route entries grouped by operation name; all entries of one name must share module and access. */
export function groupByName(routes: RouteDef[]): Map<string, RouteDef[]> {
  const groups = new Map<string, RouteDef[]>();
  for (const r of routes) {
    const group = groups.get(r.name);
    if (!group) groups.set(r.name, [r]);
    else if (group[0]!.module !== r.module || group[0]!.access !== r.access)
      throw new Error(`Route "${r.name}" maps to more than one module or access level`);
    else group.push(r);
  }
  return groups;
}
