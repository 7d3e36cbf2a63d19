// Package api is the HTTP face of datashare: an echo server with its routes,
// handlers, bearer-token authentication, the mapping of error codes to HTTP
// statuses, and the OpenAPI document that describes it all. Handlers only
// translate between HTTP and the domain services; the rules live elsewhere.
// The server's edge is here for the pages too (web mounts on the same echo
// instance): the security headers of every answer (headers.go) and the
// input rule for the path, query, headers and form fields (text.go).
package api
