// Package e2e has no code of its own: its tests use the built widgetapi
// binary the way README.md and the OpenAPI document tell a newcomer to, by
// running the README's commands and curl session as written and clients
// generated from the document. They are a package of their own so that
// their builds and sessions have a test timeout of their own.
package e2e
