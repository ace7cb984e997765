"""The web pages: the marketer console (/console) and the member portal (/portal),
server-rendered over the GraphQL schema run in-process (docs/console-and-portal.md)."""
