// The demo's Apollo gateway: composes the subgraphs listed in SUBGRAPHS with IntrospectAndCompose
// and serves the supergraph on 127.0.0.1:GATEWAY_PORT.
//
//   GATEWAY_PORT=4000 SUBGRAPHS='[{"name":"movies","url":"http://127.0.0.1:4001/graphql"}, ...]' node server.mjs
//
// It only listens once composition succeeded (readiness: any answer to a `{ __typename }` POST).
// Composition is retried until GATEWAY_STARTUP_TIMEOUT seconds (default 60) have passed, so the
// subgraphs may still be starting. Nothing phones home: no usage or schema reporting, no inline
// traces, no landing page, and Apollo's managed-federation variables are ignored.
// SIGTERM and SIGINT stop the server gracefully and exit with status 0.

import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";

for (const name of Object.keys(process.env)) {
  if (name.startsWith("APOLLO_")) delete process.env[name]; // never managed federation, never Apollo's cloud
}

function fail(message) {
  process.stderr.write(`error: gateway: ${message}\n`);
  process.exit(2);
}

function readSubgraphs() {
  const text = process.env.SUBGRAPHS;
  if (!text) fail('SUBGRAPHS is not set: give a JSON list such as [{"name": "movies", "url": "http://127.0.0.1:4001/graphql"}]');
  let subgraphs;
  try {
    subgraphs = JSON.parse(text);
  } catch (error) {
    fail(`SUBGRAPHS is not valid JSON: ${error.message}`);
  }
  if (!Array.isArray(subgraphs) || subgraphs.length === 0) fail("SUBGRAPHS must be a non-empty JSON list");
  subgraphs.forEach((subgraph, index) => {
    if (typeof subgraph?.name !== "string" || typeof subgraph?.url !== "string") {
      fail(`SUBGRAPHS[${index}] must be an object with string keys "name" and "url"`);
    }
  });
  return subgraphs.map(({ name, url }) => ({ name, url }));
}

function readPort() {
  const text = process.env.GATEWAY_PORT ?? "4000";
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`GATEWAY_PORT must be a port number, got ${JSON.stringify(text)}`);
  return port;
}

function readTimeout() {
  const text = process.env.GATEWAY_STARTUP_TIMEOUT ?? "60";
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) fail(`GATEWAY_STARTUP_TIMEOUT must be a number of seconds, got ${JSON.stringify(text)}`);
  return seconds;
}

const quietLogger = {
  debug() {},
  info() {},
  warn(message) {
    process.stderr.write(`gateway: ${message}\n`);
  },
  error(message) {
    process.stderr.write(`gateway: ${message}\n`);
  },
};

// Composition errors reach startComposed, which reports them once; IntrospectAndCompose would log each retry.
const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

function buildServer(subgraphs) {
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({ subgraphs, logger: silentLogger }),
    logger: quietLogger,
  });
  return new ApolloServer({
    gateway,
    logger: quietLogger,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
}

async function startComposed(subgraphs, port, deadline) {
  for (let attempt = 1; ; attempt += 1) {
    const server = buildServer(subgraphs);
    try {
      const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port } });
      return { server, url };
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      if (attempt === 1) process.stderr.write(`gateway: waiting for the subgraphs to compose (${error.message.split("\n")[0]})\n`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const subgraphs = readSubgraphs();
const port = readPort();
const deadline = Date.now() + readTimeout() * 1000;

let stopping = false;
let running = null;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  if (running) await running.server.stop();
  process.exit(0);
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

try {
  running = await startComposed(subgraphs, port, deadline);
  process.stderr.write(`gateway: serving ${subgraphs.map((s) => s.name).join(", ")} at ${running.url}\n`);
  if (stopping) await running.server.stop();
} catch (error) {
  fail(`could not compose ${subgraphs.map((s) => `${s.name} (${s.url})`).join(", ")}: ${error.message}`);
}
