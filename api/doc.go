// Package api is the HTTP face of datashare: an echo server with its routes,
// handlers, bearer-token authentication, the mapping of error codes to HTTP
// statuses, and the OpenAPI document that describes it all. Handlers only
// translate between HTTP and the domain services; the rules live elsewhere.
package api
