// Apollo Client against a Laurel server in trusted mode, the way a client team sets it up:
// the documents graphql-codegen's client preset generated, sent by the ids of Apollo's
// persisted-query manifest (@apollo/persisted-query-lists), through the stock persisted
// query link. Prints one JSON object of what came back; tests/clients/test_apollo_clients.py
// judges it.
//
//   node apollo-trusted.mjs <url> <codegen persisted-documents.json> <apollo manifest.json>
// with LAUREL_TOKEN (an admin's bearer token) in the environment.
import { readFileSync } from "node:fs";

import { parse } from "graphql";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import {
  createPersistedQueryManifestVerificationLink,
  generatePersistedQueryIdsFromManifest,
} from "@apollo/persisted-query-lists";

const [url, documentsPath, manifestPath, mode] = process.argv.slice(2);
const token = process.env.LAUREL_TOKEN;
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const persistedDocuments = JSON.parse(readFileSync(documentsPath, "utf8"));

// The app's documents by operation name: what codegen's typed documents hold.
const documents = {};
for (const text of Object.values(persistedDocuments)) {
  const document = parse(text);
  const operation = document.definitions.find((d) => d.kind === "OperationDefinition");
  documents[operation.name.value] = document;
}

// Every request the client makes, as it went over the wire.
const requests = [];
const warnings = [];
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => {
    warnings.push(args.map(String).join(" "));
    original(...args);
  };
}

async function countingFetch(input, init) {
  const body = JSON.parse(init.body);
  const response = await fetch(input, init);
  requests.push({
    operationName: body.operationName,
    sentText: typeof body.query === "string",
    hash: body.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
  });
  return response;
}

const verificationFailures = [];
function client({ persisted }) {
  const http = new HttpLink({
    uri: url,
    fetch: countingFetch,
    headers: { authorization: `Bearer ${token}` },
  });
  const links = [];
  if (persisted) {
    links.push(
      // In development: does each document the app sends match the manifest's?
      createPersistedQueryManifestVerificationLink({
        loadManifest: () => manifest,
        onVerificationFailed: (details) =>
          verificationFailures.push({
            reason: details.reason,
            operation: details.operation.operationName,
          }),
      }),
      new PersistedQueryLink(
        generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }),
      ),
    );
  }
  return new ApolloClient({ link: ApolloLink.from([...links, http]), cache: new InMemoryCache() });
}

async function outcome(promise) {
  try {
    const result = await promise;
    return { data: result.data ?? null };
  } catch (error) {
    // GraphQL errors in a 200, or a refusal's body in a 4xx (Apollo's ServerError)
    let errors = error.errors ?? error.result?.errors;
    if (errors === undefined && typeof error.bodyText === "string") {
      errors = JSON.parse(error.bodyText).errors;
    }
    return { error: error.message, codes: (errors ?? []).map((e) => e.extensions?.code ?? null) };
  }
}

const apollo = client({ persisted: true });
const result = { requests, warnings, verificationFailures };

if (mode === "revoked") {
  // After `laurel documents revoke`: the same client, refused (not served empty objects).
  result.tierLadder = await outcome(apollo.query({ query: documents.TierLadder }));
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}

result.tierLadder = await outcome(apollo.query({ query: documents.TierLadder }));
result.members = await outcome(apollo.query({ query: documents.Members, variables: { first: 3 } }));
const firstId = result.members.data?.members?.edges?.[0]?.node?.id;
result.member = await outcome(apollo.query({ query: documents.Member, variables: { id: firstId } }));
result.enroll = await outcome(
  apollo.mutate({
    mutation: documents.EnrollMember,
    variables: { externalId: `apollo-${Date.now()}`, displayName: "Apollo" },
  }),
);
// What Apollo's cache holds after the queries: the normalised member, read back.
result.cachedMember = apollo.cache.readQuery({ query: documents.Member, variables: { id: firstId } });

// A document the manifest does not hold, by the stock link (no manifest): refused, loudly.
const stock = client({ persisted: false });
result.adHoc = await outcome(
  stock.query({ query: parse("query AdHoc { tierLadder { code } }"), fetchPolicy: "no-cache" }),
);

process.stdout.write(JSON.stringify(result));
