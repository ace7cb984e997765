"""GraphQL building blocks every domain's API uses."""
