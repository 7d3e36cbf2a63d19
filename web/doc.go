// Package web serves datashare's pages: server-rendered HTML for officers,
// approvers, managers and admins, on the same echo server as the API and
// over the same services, acting as the same workflow.Actor.
//
// Where things are:
//   - routes.go registers every page and the middleware each one runs
//     behind (session, CSRF, gzip);
//   - one file per page or group of pages (requests.go, reports.go, …), each
//     handler parsing its form, calling a service, and rendering a typed
//     view struct with one template of templates/;
//   - the buttons a request page shows come from workflow.Allowed, the
//     same rule workflow.Apply enforces;
//   - errors become HTML pages in errors.go with the API's status table.
package web
