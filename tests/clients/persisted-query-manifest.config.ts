// Apollo's persisted-query manifest, built from the documents codegen's client preset split
// graphql/operations/ into (Apollo's generator wants one operation per document, and the
// files hold several). The generator prints each one as Apollo Client sends it.
import {
  fromGraphQLCodegenPersistedDocuments,
  type PersistedQueryManifestConfig,
} from "@apollo/generate-persisted-query-manifest";

const config: PersistedQueryManifestConfig = {
  documents: fromGraphQLCodegenPersistedDocuments("generated/apollo/persisted-documents.json"),
  output: "generated/persisted-query-manifest.json",
};

export default config;
