// graphql-codegen's client preset over graphql/operations/, as client teams run it:
// - plain/: the preset's defaults (what a team gets first; TS2552 was found here);
// - apollo/: typed documents with __typename added the way Apollo Client adds it, and
//   persisted-documents.json ({hash: text}) for Laurel's registry and Apollo's manifest.
import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const config: CodegenConfig = {
  schema: "../../graphql/schema.graphql",
  documents: ["../../graphql/operations/*.graphql"],
  silent: true,
  generates: {
    "generated/plain/": { preset: "client" },
    "generated/apollo/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: "sha256" },
      },
      documentTransforms: [addTypenameSelectionDocumentTransform],
    },
  },
};

export default config;
