// Unit tests run without globalSetup: the same quiet logs the integration tier gets from it.
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT';
