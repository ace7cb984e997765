// The generated documents in use with Apollo Client's types: compiled (tsc --noEmit), not run.
import { ApolloClient, InMemoryCache, HttpLink } from "@apollo/client";

import { graphql } from "./generated/apollo/index.js";
import {
  CreateLeaderboardDocument,
  MembersDocument,
  TierLadderDocument,
} from "./generated/apollo/graphql.js";

const client = new ApolloClient({
  link: new HttpLink({ uri: "http://127.0.0.1/graphql" }),
  cache: new InMemoryCache(),
});

export async function ladderNames(): Promise<string[]> {
  const { data } = await client.query({ query: TierLadderDocument });
  return (data?.tierLadder ?? []).map((tier) => tier.name);
}

export async function firstMember(): Promise<string | undefined> {
  const { data } = await client.query({ query: MembersDocument, variables: { first: 1 } });
  return data?.members.edges[0]?.node.displayName;
}

export async function createBoard(): Promise<string> {
  const { data } = await client.mutate({
    mutation: CreateLeaderboardDocument,
    variables: {
      input: { code: "weekly", name: "Weekly", metric: "POINTS_EARNED", period: "WEEK" },
    },
  });
  const result = data?.createLeaderboard;
  switch (result?.__typename) {
    case "LeaderboardSaved":
      return result.leaderboard.code;
    case "ValidationFailed":
      return result.problems.map((problem) => problem.field).join(", ");
    default:
      return result?.message ?? "no answer";
  }
}

// The graphql() function knows every operation text of graphql/operations/.
export const typedByText = graphql;
