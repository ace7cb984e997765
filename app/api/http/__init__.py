"""Serving the schema: GraphQL over HTTP and WebSocket, GraphiQL, limits, logs."""
